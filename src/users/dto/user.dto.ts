import { User, UserRole } from '../user.entity';

/** The wire shape of a user. */
export class UserDto {
  id!: number;
  username!: string;
  ext_id!: string | null;
  email!: string | null;
  role!: UserRole | null;
  has_usable_password!: boolean;
}

export function toUserDto(user: User): UserDto {
  return {
    id: user.id,
    username: user.username,
    ext_id: user.extId,
    email: user.email,
    role: user.role,
    has_usable_password: user.hasUsablePassword,
  };
}
