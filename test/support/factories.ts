import { randomUUID } from 'node:crypto';
import { SocialAssociationService } from '../../src/social-associations/social-association.service';
import { CreateSocialAssociationDto } from '../../src/social-associations/dto/create-social-association.dto';
import { SignupDto } from '../../src/users/dto/signup.dto';
import { UserDto } from '../../src/users/dto/user.dto';
import { UsersService } from '../../src/users/users.service';
import { TestApp } from './create-test-app';

export type Factories = ReturnType<typeof factories>;

/**
 * Arrange data through the application's own services, so it obeys the same rules.
 * The services are looked up on each call, so the factories of a `useTestApp()` handle
 * can be taken before its app is up.
 */
export function factories(t: Pick<TestApp, 'app' | 'dataSource'>) {
  const users = () => t.app.get(UsersService);
  const associations = () => t.app.get(SocialAssociationService);
  return {
    async makeUser(overrides: Partial<SignupDto> = {}): Promise<UserDto> {
      return users().signup({ username: `user_${randomUUID().slice(0, 8)}`, ...overrides });
    },
    async makeAdmin(overrides: Partial<SignupDto> = {}): Promise<UserDto> {
      return this.makeUser({ role: 'admin', ...overrides });
    },
    async link(userId: number, input: Partial<CreateSocialAssociationDto> = {}) {
      return associations().link(null, userId, { provider: 'google', ext_id: randomUUID(), ...input }, null);
    },
    async deactivate(userId: number): Promise<void> {
      await t.dataSource.query(`UPDATE users SET is_active = false WHERE id = ${userId}`);
    },
    async deleteUser(userId: number): Promise<void> {
      await t.dataSource.query(`DELETE FROM users WHERE id = ${userId}`);
    },
    async countAssociations(userId?: number): Promise<number> {
      const rows: { n: number | string }[] = await t.dataSource.query(
        `SELECT COUNT(*) AS n FROM social_associations${userId === undefined ? '' : ` WHERE user_id = ${userId}`}`,
      );
      return Number(rows[0]?.n ?? 0);
    },
    async auditEvents(): Promise<Record<string, unknown>[]> {
      return t.dataSource.query('SELECT * FROM audit_events ORDER BY id');
    },
  };
}
