import { EntityManager } from 'typeorm';
import { describe, expect, it, Mock, vi } from 'vitest';
import { AuditService } from '../audit/audit.service';
import { Caller } from '../auth/caller';
import { DomainError } from '../common/errors/domain-error';
import { AppConfig } from '../config/app-config';
import { TransactionRunner } from '../database/transactions';
import { UsersRepository } from '../users/users.repository';
import { DeleteSocialAssociationDto } from './dto/delete-social-association.dto';
import { SocialAssociationService } from './social-association.service';
import { SocialAssociationsRepository } from './social-associations.repository';

/**
 * A strict mock: only the given members exist; touching any other one throws,
 * so a service that calls something unexpected fails the test.
 */
function strictMock<T extends object>(name: string, members: Partial<Record<keyof T, unknown>> = {}): T {
  return new Proxy(members, {
    get(target, property) {
      if (property in target) return target[property as keyof typeof target];
      if (typeof property === 'symbol' || property === 'then') return undefined;
      throw new Error(`unexpected call: ${name}.${property}`);
    },
  }) as T;
}

const USER_ID = 7;
const REQUEST_ID = 'req-1';
const manager = { name: 'transaction manager' } as unknown as EntityManager;

const caller = (overrides: Partial<Caller> = {}): Caller => ({
  id: USER_ID,
  role: null,
  hasUsablePassword: true,
  isAdmin: false,
  ...overrides,
});
const admin = (overrides: Partial<Caller> = {}): Caller =>
  caller({ id: 1, role: 'admin', isAdmin: true, ...overrides });
const target = (overrides: Partial<DeleteSocialAssociationDto> = {}): DeleteSocialAssociationDto =>
  Object.assign(new DeleteSocialAssociationDto(), { ext_id: '123', provider: 'google', ...overrides });

interface Mocks {
  associations?: Partial<Record<keyof SocialAssociationsRepository, Mock>>;
  users?: Partial<Record<keyof UsersRepository, Mock>>;
  audit?: Partial<Record<keyof AuditService, Mock>>;
  transactions?: Partial<Record<keyof TransactionRunner, unknown>>;
}

function serviceWith(mocks: Mocks): SocialAssociationService {
  return new SocialAssociationService(
    strictMock<SocialAssociationsRepository>('associations', mocks.associations),
    strictMock<UsersRepository>('users', mocks.users),
    strictMock<AuditService>('audit', mocks.audit),
    strictMock<TransactionRunner>('transactions', mocks.transactions),
    strictMock<AppConfig>('config', { allowedProviders: null, maxAssociationsPerUser: 100 }),
  );
}

/** A TransactionRunner that runs the work with a sentinel manager. */
const inTransaction = () => ({
  run: vi.fn(<T>(work: (m: EntityManager) => Promise<T>) => work(manager)),
});

async function domainError(promise: Promise<unknown>): Promise<DomainError> {
  const error: unknown = await promise.then(
    () => undefined,
    (rejection: unknown) => rejection,
  );
  expect(error).toBeInstanceOf(DomainError);
  return error as DomainError;
}

const deletedAudit = (actorUserId: number) => ({
  actorUserId,
  action: 'social_association.deleted',
  targetUserId: USER_ID,
  provider: 'google',
  extId: '123',
  requestId: REQUEST_ID,
});

describe('SocialAssociationService.unlink', () => {
  describe('user_id in the body', () => {
    it('user_id_mismatch (field user_id) when it differs from the path id, before touching anything', async () => {
      const service = serviceWith({});
      const error = await domainError(service.unlink(caller(), USER_ID, target({ user_id: 8 }), REQUEST_ID));
      expect(error.code).toBe('user_id_mismatch');
      expect(error.field).toBe('user_id');
      expect(error.status).toBe(400);
    });

    it('user_id_mismatch for an admin too', async () => {
      const error = await domainError(serviceWith({}).unlink(admin(), USER_ID, target({ user_id: 1 }), REQUEST_ID));
      expect(error.code).toBe('user_id_mismatch');
    });

    it('proceeds when it equals the path id', async () => {
      const deleteAudited = vi.fn().mockResolvedValue(true);
      const service = serviceWith({ associations: { deleteAudited } });
      await expect(
        service.unlink(caller(), USER_ID, target({ user_id: USER_ID }), REQUEST_ID),
      ).resolves.toBeUndefined();
      expect(deleteAudited).toHaveBeenCalledOnce();
    });
  });

  describe('admin callers', () => {
    it('not_found (the user) when the user does not exist, and nothing is deleted', async () => {
      const exists = vi.fn().mockResolvedValue(false);
      const service = serviceWith({ users: { exists } });
      const error = await domainError(service.unlink(admin(), USER_ID, target(), REQUEST_ID));
      expect(error.code).toBe('not_found');
      expect(error.message).toMatch(/^User \d+ does not exist$/);
      expect(error.status).toBe(404);
      expect(exists).toHaveBeenCalledWith(USER_ID);
    });

    it("deletes another user's association and audits the admin as actor", async () => {
      const exists = vi.fn().mockResolvedValue(true);
      const deleteAudited = vi.fn().mockResolvedValue(true);
      const service = serviceWith({ users: { exists }, associations: { deleteAudited } });
      await expect(service.unlink(admin(), USER_ID, target(), REQUEST_ID)).resolves.toBeUndefined();
      expect(deleteAudited).toHaveBeenCalledExactlyOnceWith(USER_ID, 'google', '123', deletedAudit(1));
    });

    it('not_found (the association) when 0 rows are deleted', async () => {
      const service = serviceWith({
        users: { exists: vi.fn().mockResolvedValue(true) },
        associations: { deleteAudited: vi.fn().mockResolvedValue(false) },
      });
      const error = await domainError(service.unlink(admin(), USER_ID, target(), REQUEST_ID));
      expect(error.code).toBe('not_found');
      expect(error.message).toMatch(/has no \S+ association/);
      expect(error.status).toBe(404);
    });

    it("deletes a passwordless user's last association: no lock-out check for admins", async () => {
      const deleteAudited = vi.fn().mockResolvedValue(true);
      const service = serviceWith({
        users: { exists: vi.fn().mockResolvedValue(true) },
        associations: { deleteAudited },
      });
      await service.unlink(admin({ hasUsablePassword: false }), USER_ID, target(), REQUEST_ID);
      expect(deleteAudited).toHaveBeenCalledOnce();
    });
  });

  describe('non-admin callers with a usable password', () => {
    it('deletes with its audit record, without looking the user up', async () => {
      const deleteAudited = vi.fn().mockResolvedValue(true);
      const service = serviceWith({ associations: { deleteAudited } });
      await expect(service.unlink(caller(), USER_ID, target(), REQUEST_ID)).resolves.toBeUndefined();
      expect(deleteAudited).toHaveBeenCalledExactlyOnceWith(USER_ID, 'google', '123', deletedAudit(USER_ID));
    });

    it('not_found (the association) when 0 rows are deleted', async () => {
      const service = serviceWith({ associations: { deleteAudited: vi.fn().mockResolvedValue(false) } });
      const error = await domainError(service.unlink(caller(), USER_ID, target(), REQUEST_ID));
      expect(error.code).toBe('not_found');
      expect(error.message).toMatch(/has no \S+ association/);
    });

    it('passes a database failure on unchanged', async () => {
      const failure = new Error('connection lost');
      const service = serviceWith({ associations: { deleteAudited: vi.fn().mockRejectedValue(failure) } });
      await expect(service.unlink(caller(), USER_ID, target(), REQUEST_ID)).rejects.toBe(failure);
    });
  });

  describe('non-admin callers without a usable password (lock-out protection)', () => {
    const passwordless = () => caller({ hasUsablePassword: false });

    /** `remaining`: the user's count after the delete, null when nothing was deleted. */
    function lockoutMocks(remaining: number | null) {
      return {
        lockForUpdate: vi.fn().mockResolvedValue(undefined),
        deleteCounted: vi.fn().mockResolvedValue(remaining),
        record: vi.fn().mockResolvedValue(undefined),
        transactions: inTransaction(),
      };
    }

    const serviceFor = (m: ReturnType<typeof lockoutMocks>) =>
      serviceWith({
        users: { lockForUpdate: m.lockForUpdate },
        associations: { deleteCounted: m.deleteCounted },
        audit: { record: m.record },
        transactions: m.transactions,
      });

    it('last_sign_in_method when no association would remain, and no audit event', async () => {
      const m = lockoutMocks(0);
      const error = await domainError(serviceFor(m).unlink(passwordless(), USER_ID, target(), REQUEST_ID));
      expect(error.code).toBe('last_sign_in_method');
      expect(error.status).toBe(409);
      expect(m.record).not.toHaveBeenCalled();
      // Thrown inside the transaction, so the delete is rolled back.
      expect(m.transactions.run).toHaveBeenCalledOnce();
      expect(m.deleteCounted).toHaveBeenCalledWith(manager, USER_ID, 'google', '123');
    });

    it('deletes and audits in the transaction when another association remains', async () => {
      const m = lockoutMocks(1);
      await expect(serviceFor(m).unlink(passwordless(), USER_ID, target(), REQUEST_ID)).resolves.toBeUndefined();
      expect(m.record).toHaveBeenCalledExactlyOnceWith(manager, deletedAudit(USER_ID));
    });

    it("takes the user's row lock before deleting and counting", async () => {
      const m = lockoutMocks(1);
      await serviceFor(m).unlink(passwordless(), USER_ID, target(), REQUEST_ID);
      expect(m.lockForUpdate).toHaveBeenCalledWith(manager, USER_ID);
      const [lock] = m.lockForUpdate.mock.invocationCallOrder;
      const [remove] = m.deleteCounted.mock.invocationCallOrder;
      expect(lock).toBeLessThan(remove);
    });

    it('not_found (the association) when 0 rows are deleted, without auditing', async () => {
      const m = lockoutMocks(null);
      const error = await domainError(serviceFor(m).unlink(passwordless(), USER_ID, target(), REQUEST_ID));
      expect(error.code).toBe('not_found');
      expect(error.message).toMatch(/has no \S+ association/);
      expect(m.record).not.toHaveBeenCalled();
    });
  });
});

describe('SocialAssociationService.link', () => {
  const input = { provider: 'google', ext_id: 'g-1' };
  const created = {
    userId: USER_ID,
    provider: 'google',
    extId: 'g-1',
    profileUrl: null,
    metadata: null,
    showInProfile: false,
  };

  it('for the caller themself: no existence check (they were just authenticated), one insert', async () => {
    const insertAudited = vi.fn().mockResolvedValue(created);
    const service = serviceWith({ users: {}, associations: { insertAudited } });
    await expect(service.link(caller(), USER_ID, input, REQUEST_ID)).resolves.toMatchObject({ ext_id: 'g-1' });
    expect(insertAudited).toHaveBeenCalledOnce();
  });

  it('too_many_associations (409) when nothing is inserted and the user exists: the cap', async () => {
    const insertAudited = vi.fn().mockResolvedValue(null);
    const exists = vi.fn().mockResolvedValue(true);
    const service = serviceWith({ users: { exists }, associations: { insertAudited } });
    const error = await domainError(service.link(caller(), USER_ID, input, REQUEST_ID));
    expect(error.code).toBe('too_many_associations');
    expect(error.status).toBe(409);
    expect(insertAudited).toHaveBeenCalledWith(expect.objectContaining({ userId: USER_ID }), expect.anything(), 100);
  });

  it('not_found when nothing is inserted because the user is gone (deleted after authenticating)', async () => {
    const insertAudited = vi.fn().mockResolvedValue(null);
    const exists = vi.fn().mockResolvedValue(false);
    const service = serviceWith({ users: { exists }, associations: { insertAudited } });
    expect((await domainError(service.link(caller(), USER_ID, input, REQUEST_ID))).code).toBe('not_found');
  });

  it('for an admin: not_found before any insert when the user does not exist', async () => {
    const exists = vi.fn().mockResolvedValue(false);
    const service = serviceWith({ users: { exists }, associations: {} });
    const error = await domainError(service.link(admin(), USER_ID, input, REQUEST_ID));
    expect(error.code).toBe('not_found');
    expect(exists).toHaveBeenCalledWith(USER_ID);
  });
});
