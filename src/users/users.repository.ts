import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, Repository } from 'typeorm';
import { User } from './user.entity';

export type NewUser = Pick<User, 'username' | 'extId' | 'email' | 'role' | 'hasUsablePassword'>;

/** Every query on `users`. */
@Injectable()
export class UsersRepository {
  constructor(@InjectRepository(User) private readonly users: Repository<User>) {}

  findById(id: number): Promise<User | null> {
    return this.users.findOneBy({ id });
  }

  async exists(id: number): Promise<boolean> {
    return this.users.existsBy({ id });
  }

  insert(user: NewUser): Promise<User> {
    return this.users.save(this.users.create({ ...user, isActive: true }));
  }

  /**
   * Takes the user's row lock for the rest of the transaction, so that decisions
   * about "the user's last association" are made one at a time per user.
   * SQLite transactions already run one at a time (see TransactionRunner).
   */
  async lockForUpdate(manager: EntityManager, id: number): Promise<void> {
    if (manager.connection.options.type !== 'postgres') return;
    await manager.query('SELECT id FROM users WHERE id = $1 FOR UPDATE', [id]);
  }
}
