import { Injectable } from '@nestjs/common';
import { DomainError } from '../common/errors/domain-error';
import { isUniqueViolation } from '../database/database-errors';
import { NewUser, SignInState, UsersRepository } from './users.repository';
import { SignupDto } from './dto/signup.dto';
import { toUserDto, UserDto } from './dto/user.dto';

@Injectable()
export class UsersService {
  constructor(private readonly users: UsersRepository) {}

  /** The caller's role and sign-in state, read on every authenticated request. */
  findSignInState(id: number): Promise<SignInState | null> {
    return this.users.findSignInState(id);
  }

  exists(id: number): Promise<boolean> {
    return this.users.exists(id);
  }

  /** The caller's own record (it was loaded for authentication a moment ago: it exists). */
  async me(userId: number): Promise<UserDto> {
    const user = await this.users.findById(userId);
    if (!user) throw new DomainError('not_found', `User ${userId} does not exist`);
    return toUserDto(user);
  }

  /** Provisions a user; a taken username is a 409, decided by the unique index. */
  async signup(input: SignupDto): Promise<UserDto> {
    const user: NewUser = {
      username: input.username,
      extId: input.ext_id ?? null,
      email: input.email ?? null,
      role: input.role ?? null,
      hasUsablePassword: input.has_usable_password ?? true,
    };
    try {
      return toUserDto(await this.users.insert(user));
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new DomainError('username_taken', `The username ${user.username} is already taken`, 'username');
      }
      throw error;
    }
  }
}
