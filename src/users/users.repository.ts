import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, Repository } from 'typeorm';
import { PreparedStatements } from '../database/prepared-statements';
import { User, UserRole } from './user.entity';

export type NewUser = Pick<User, 'username' | 'extId' | 'email' | 'role' | 'hasUsablePassword'>;

interface UserSqlRow {
  id: number;
  username: string;
  ext_id: string | null;
  email: string | null;
  role: UserRole | null;
  has_usable_password: boolean;
  is_active: boolean;
  created_at: Date;
  updated_at: Date;
}

/** What authentication needs of a user: who, which role, and whether they may sign in. */
export type SignInState = Pick<User, 'id' | 'role' | 'hasUsablePassword' | 'isActive'>;

/** Runs on every authenticated request (the JWT strategy reloads the caller): only the columns it needs. */
export const FIND_SIGN_IN_STATE_SQL = 'SELECT id, role, has_usable_password, is_active FROM users WHERE id = $1';

export const FIND_USER_BY_ID_SQL = `
  SELECT id, username, ext_id, email, role, has_usable_password, is_active, created_at, updated_at
  FROM users WHERE id = $1`;

/** Every query on `users`. The per-request lookup is a prepared statement. */
@Injectable()
export class UsersRepository {
  constructor(
    @InjectRepository(User) private readonly users: Repository<User>,
    private readonly prepared: PreparedStatements,
  ) {}

  async findById(id: number): Promise<User | null> {
    const { rows } = await this.prepared.query<UserSqlRow>('users_find_by_id', FIND_USER_BY_ID_SQL, [id]);
    const row = rows[0];
    if (!row) return null;
    return Object.assign(new User(), {
      id: row.id,
      username: row.username,
      extId: row.ext_id,
      email: row.email,
      role: row.role,
      hasUsablePassword: row.has_usable_password,
      isActive: row.is_active,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    });
  }

  async findSignInState(id: number): Promise<SignInState | null> {
    const { rows } = await this.prepared.query<Pick<UserSqlRow, 'id' | 'role' | 'has_usable_password' | 'is_active'>>(
      'users_find_sign_in_state',
      FIND_SIGN_IN_STATE_SQL,
      [id],
    );
    const row = rows[0];
    return row
      ? { id: row.id, role: row.role, hasUsablePassword: row.has_usable_password, isActive: row.is_active }
      : null;
  }

  async exists(id: number): Promise<boolean> {
    return (await this.findSignInState(id)) !== null;
  }

  insert(user: NewUser): Promise<User> {
    return this.users.save(this.users.create({ ...user, isActive: true }));
  }

  /**
   * Takes the user's row lock for the rest of the transaction, so that decisions
   * about "the user's last association" are made one at a time per user.
   */
  async lockForUpdate(manager: EntityManager, id: number): Promise<void> {
    await manager.query('SELECT id FROM users WHERE id = $1 FOR UPDATE', [id]);
  }
}
