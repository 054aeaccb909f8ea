import { UserRole } from '../users/user.entity';

/** The authenticated user of a request, as loaded from the database by the JWT strategy. */
export interface Caller {
  id: number;
  role: UserRole | null;
  hasUsablePassword: boolean;
  isAdmin: boolean;
}
