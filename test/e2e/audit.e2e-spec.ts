import { beforeEach, describe, expect, it } from 'vitest';
import { request, TestResponse } from '../support/http';
import { expectProblem, problems } from '../support/problem';
import { tokenFor } from '../support/tokens';
import { useTestApp } from '../support/use-test-app';

const AUDIT = '/api/v2/audit/social-associations/';

describe('GET /api/v2/audit/social-associations/', () => {
  const t = useTestApp();
  const f = t.f;
  let adminId: number;
  let adminToken: string;
  beforeEach(async () => {
    adminId = (await f.makeAdmin()).id;
    adminToken = tokenFor(adminId);
  });

  const list = (query = '', token: string | undefined = adminToken): Promise<TestResponse> =>
    request(t.baseUrl, 'GET', `${AUDIT}${query}`, { token });

  /** Writes an event with a chosen time. */
  async function seedEvent(occurredAt: string, fields: { targetUserId?: number; provider?: string } = {}) {
    await t.dataSource.query(
      `INSERT INTO audit_events (occurred_at, actor_user_id, action, target_user_id, provider, ext_id, request_id)
       VALUES ($1, NULL, 'social_association.created', $2, $3, $4, NULL)`,
      [occurredAt, fields.targetUserId ?? 1, fields.provider ?? 'google', `e-${occurredAt}`],
    );
  }

  describe('access', () => {
    it('401 for an anonymous caller', async () => {
      expectProblem(await request(t.baseUrl, 'GET', AUDIT), problems.notAuthenticated());
    });

    it('403 for a caller who is not an admin, also for their own events', async () => {
      const user = await f.makeUser();
      await f.link(user.id);
      expectProblem(await list(`?user_id=${user.id}`, tokenFor(user.id)), problems.permissionDenied());
    });
  });

  describe('what is recorded', () => {
    it('a create and a delete over HTTP: actor, action, target, provider, ext_id, request id, time; newest first', async () => {
      const user = await f.makeUser();
      const before = Date.now() - 1000;
      const created = await request(t.baseUrl, 'POST', `/api/v2/user/${user.id}/provider/`, {
        token: tokenFor(user.id),
        body: { provider: 'github', ext_id: 'gh-1' },
        headers: { 'x-request-id': 'audit-create-1' },
      });
      expect(created.status, created.text).toBe(201);
      const deleted = await request(t.baseUrl, 'DELETE', `/api/v2/user/${user.id}/provider/`, {
        token: adminToken,
        body: { provider: 'github', ext_id: 'gh-1' },
        headers: { 'x-request-id': 'audit-delete-1' },
      });
      expect(deleted.status, deleted.text).toBe(204);

      const res = await list();
      expect(res.status, res.text).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(res.body).toEqual({
        results: [
          {
            id: 2,
            occurred_at: expect.any(String),
            actor_user_id: adminId,
            action: 'social_association.deleted',
            target_user_id: user.id,
            provider: 'github',
            ext_id: 'gh-1',
            request_id: 'audit-delete-1',
          },
          {
            id: 1,
            occurred_at: expect.any(String),
            actor_user_id: user.id,
            action: 'social_association.created',
            target_user_id: user.id,
            provider: 'github',
            ext_id: 'gh-1',
            request_id: 'audit-create-1',
          },
        ],
        next: null,
      });
      for (const event of res.body.results) {
        expect(event.occurred_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
        const at = Date.parse(event.occurred_at);
        expect(at).toBeGreaterThanOrEqual(before);
        expect(at).toBeLessThanOrEqual(Date.now() + 1000);
      }
    });

    it('a change whose audit event cannot be written is not made either (one transaction)', async () => {
      const user = await f.makeUser();
      // Make every audit write for provider "doomed" fail inside the database.
      await t.dataSource.query("ALTER TABLE audit_events ADD CONSTRAINT ck_test_doomed CHECK (provider <> 'doomed')");
      try {
        const create = await request(t.baseUrl, 'POST', `/api/v2/user/${user.id}/provider/`, {
          token: tokenFor(user.id),
          body: { provider: 'doomed', ext_id: 'x' },
        });
        expectProblem(create, problems.serverError());
        expect(await f.countAssociations(user.id)).toBe(0);

        // An association that exists (written without an event), then a delete whose event fails.
        await t.dataSource.query(
          `INSERT INTO social_associations (user_id, provider, ext_id) VALUES (${user.id}, 'doomed', 'y');
           UPDATE users SET association_count = 1 WHERE id = ${user.id}`,
        );
        const del = await request(t.baseUrl, 'DELETE', `/api/v2/user/${user.id}/provider/`, {
          token: tokenFor(user.id),
          body: { provider: 'doomed', ext_id: 'y' },
        });
        expectProblem(del, problems.serverError());
        expect(await f.countAssociations(user.id)).toBe(1);
        expect(await f.auditEvents()).toEqual([]);
      } finally {
        await t.dataSource.query('ALTER TABLE audit_events DROP CONSTRAINT ck_test_doomed');
      }
    });
  });

  describe('pagination', () => {
    it('pages newest first with limit and an opaque cursor, until next is null', async () => {
      const user = await f.makeUser();
      for (let i = 0; i < 5; i++) await f.link(user.id, { ext_id: `p-${i}` });

      const first = await list('?limit=2');
      expect(first.status, first.text).toBe(200);
      expect(first.body.results.map((e: { id: number }) => e.id)).toEqual([5, 4]);
      expect(first.body.next).toEqual(expect.stringMatching(/^[A-Za-z0-9_-]+$/));

      const second = await list(`?limit=2&cursor=${first.body.next}`);
      expect(second.body.results.map((e: { id: number }) => e.id)).toEqual([3, 2]);
      const third = await list(`?limit=2&cursor=${second.body.next}`);
      expect(third.body).toEqual({ results: [expect.objectContaining({ id: 1, ext_id: 'p-0' })], next: null });
    });

    it('an exact last page has next: null; the default page size is 50', async () => {
      const user = await f.makeUser();
      for (let i = 0; i < 3; i++) await f.link(user.id);
      expect((await list('?limit=3')).body.next).toBeNull();
      const all = await list();
      expect(all.body.results).toHaveLength(3);
      expect(all.body.next).toBeNull();
    });

    it('limit 50 by default: 51 events give a second page', async () => {
      const user = await f.makeUser();
      for (let i = 0; i < 51; i++) await seedEvent('2025-01-01T00:00:00Z', { targetUserId: user.id });
      const page = await list();
      expect(page.body.results).toHaveLength(50);
      const rest = await list(`?cursor=${page.body.next}`);
      expect(rest.body.results.map((e: { id: number }) => e.id)).toEqual([1]);
      expect(rest.body.next).toBeNull();
    });
  });

  describe('filters', () => {
    it('user_id, provider, and both together; the cursor keeps the filters', async () => {
      const [a, b] = [await f.makeUser(), await f.makeUser()];
      await f.link(a.id, { provider: 'google', ext_id: 'a-g1' });
      await f.link(b.id, { provider: 'google', ext_id: 'b-g1' });
      await f.link(a.id, { provider: 'github', ext_id: 'a-h1' });
      await f.link(a.id, { provider: 'google', ext_id: 'a-g2' });

      const extIds = (res: TestResponse): string[] => res.body.results.map((e: { ext_id: string }) => e.ext_id);
      expect(extIds(await list(`?user_id=${a.id}`))).toEqual(['a-g2', 'a-h1', 'a-g1']);
      expect(extIds(await list('?provider=google'))).toEqual(['a-g2', 'b-g1', 'a-g1']);
      expect(extIds(await list(`?user_id=${a.id}&provider=google`))).toEqual(['a-g2', 'a-g1']);
      expect(extIds(await list(`?user_id=${b.id}&provider=github`))).toEqual([]);

      const page = await list(`?user_id=${a.id}&provider=google&limit=1`);
      expect(extIds(page)).toEqual(['a-g2']);
      const next = await list(`?user_id=${a.id}&provider=google&limit=1&cursor=${page.body.next}`);
      expect(extIds(next)).toEqual(['a-g1']);
      expect(next.body.next).toBeNull();
    });

    it('since (inclusive) and until (exclusive), with offsets', async () => {
      await seedEvent('2025-01-01T09:59:59Z');
      await seedEvent('2025-01-01T10:00:00Z');
      await seedEvent('2025-01-01T10:30:00Z');
      await seedEvent('2025-01-01T11:00:00Z');
      const times = (res: TestResponse): string[] => {
        expect(res.status, res.text).toBe(200);
        return res.body.results.map((e: { occurred_at: string }) => e.occurred_at);
      };

      expect(times(await list('?since=2025-01-01T10:00:00Z'))).toEqual([
        '2025-01-01T11:00:00.000Z',
        '2025-01-01T10:30:00.000Z',
        '2025-01-01T10:00:00.000Z',
      ]);
      expect(times(await list('?until=2025-01-01T10:30:00Z'))).toEqual([
        '2025-01-01T10:00:00.000Z',
        '2025-01-01T09:59:59.000Z',
      ]);
      expect(times(await list('?since=2025-01-01T10:00:00.001Z&until=2025-01-01T11:00:00.001Z'))).toEqual([
        '2025-01-01T11:00:00.000Z',
        '2025-01-01T10:30:00.000Z',
      ]);
      // 11:00+01:00 is 10:00Z; a "+" the client forgot to encode arrives as a space.
      expect(times(await list(`?since=${encodeURIComponent('2025-01-01T11:00:00+01:00')}`))).toHaveLength(3);
      expect(times(await list('?since=2025-01-01T11:00:00+01:00'))).toHaveLength(3);
      expect(times(await list('?since=2025-01-01T05:00:00-05:00&until=2025-01-01T05:30:00.000-05:00'))).toEqual([
        '2025-01-01T10:00:00.000Z',
      ]);
    });

    it('time filters combine with the others and with the cursor', async () => {
      const user = await f.makeUser();
      await seedEvent('2025-03-01T00:00:00Z', { targetUserId: user.id, provider: 'github' });
      await seedEvent('2025-03-02T00:00:00Z', { targetUserId: user.id, provider: 'google' });
      await seedEvent('2025-03-03T00:00:00Z', { targetUserId: user.id, provider: 'github' });
      await seedEvent('2025-03-04T00:00:00Z', { targetUserId: user.id, provider: 'github' });
      const query = `?user_id=${user.id}&provider=github&since=2025-03-01T00:00:00Z&until=2025-03-04T00:00:00Z&limit=1`;
      const first = await list(query);
      expect(first.body.results.map((e: { id: number }) => e.id)).toEqual([3]);
      const second = await list(`${query}&cursor=${first.body.next}`);
      expect(second.body).toEqual({ results: [expect.objectContaining({ id: 1 })], next: null });
    });
  });

  describe('400 for invalid filters, naming the field', () => {
    it.each([
      ['user_id=abc', 'user_id'],
      ['user_id=0', 'user_id'],
      ['user_id=99999999999', 'user_id'],
      ['provider=Google', 'provider'],
      ['since=2025-01-01', 'since'],
      ['since=2025-01-01T10:00:00', 'since'],
      ['since=2025-02-30T10:00:00Z', 'since'],
      ['since=2025-01-01T24:00:00Z', 'since'],
      ['since=yesterday', 'since'],
      ['until=1735725600', 'until'],
      ['since=2025-01-02T00:00:00Z&until=2025-01-01T00:00:00Z', 'until'],
      ['since=2025-01-01T00:00:00Z&until=2025-01-01T00:00:00Z', 'until'],
      ['since=2025-01-01T00:00:00.000002Z&until=2025-01-01T00:00:00.000001Z', 'until'],
      ['since=0000-01-01T00:00:00Z', 'since'],
      ['until=0000-12-31T23:59:59Z', 'until'],
      ['since=10000-01-01T00:00:00Z', 'since'],
      ['since=-0001-01-01T00:00:00Z', 'since'],
      ['limit=0', 'limit'],
      ['limit=101', 'limit'],
      ['limit=-1', 'limit'],
      ['limit=1.5', 'limit'],
      ['limit=ten', 'limit'],
      ['cursor=not-a-cursor!', 'cursor'],
      [`cursor=${Buffer.from('0').toString('base64url')}`, 'cursor'],
      [`cursor=${Buffer.from('abc').toString('base64url')}`, 'cursor'],
      ['cursor=', 'cursor'],
      ['actor=1', 'actor'],
    ])('400 for ?%s', async (query, field) => {
      expectProblem(await list(`?${query}`), problems.invalidField(field));
    });

    it('200 with no events at the ends of the accepted years, offsets that cross them included', async () => {
      await seedEvent('2025-01-01T00:00:00Z');
      for (const [query, found] of [
        ['since=0001-01-01T00:00:00Z', 1],
        // 0001-01-01T00:00+01:00 is the last hour of 1 BC; 9999-12-31T23:59:59-01:00 is in the year 10000.
        [`until=${encodeURIComponent('0001-01-01T00:00:00+01:00')}`, 0],
        ['since=9999-12-31T23:59:59-01:00', 0],
        ['until=9999-12-31T23:59:59.999999-14:00', 1],
        [`since=0001-01-01T00:00:00${encodeURIComponent('+14:00')}&until=9999-12-31T23:59:59-14:00`, 1],
      ] as const) {
        const res = await list(`?${query}`);
        expect(res.status, `${query}: ${res.text}`).toBe(200);
        expect(res.body.results, query).toHaveLength(found);
      }
    });

    it('since and until to the microsecond, as PostgreSQL stores the time', async () => {
      await seedEvent('2025-01-01T10:00:00.000400Z');
      const count = async (query: string): Promise<number> => (await list(`?${query}`)).body.results.length;
      expect(await count('since=2025-01-01T10:00:00.0004Z')).toBe(1);
      expect(await count('since=2025-01-01T10:00:00.000401Z')).toBe(0);
      expect(await count('until=2025-01-01T10:00:00.000401Z')).toBe(1);
      expect(await count('until=2025-01-01T10:00:00.0004Z')).toBe(0);
      expect(await count('since=2025-01-01T10:00:00.0001Z&until=2025-01-01T10:00:00.0005Z')).toBe(1);
    });

    it('200 at the edges: limit 1 and 100, microseconds, the largest offset, a leap day', async () => {
      for (const query of [
        'limit=1',
        'limit=100',
        'since=2025-01-01T10:00:00.123456Z',
        'until=2025-12-31T23:59:59+14:00',
        'since=2024-02-29T00:00:00Z',
      ]) {
        const res = await list(`?${query}`);
        expect(res.status, `${query}: ${res.text}`).toBe(200);
      }
    });
  });
});
