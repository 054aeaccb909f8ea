import { beforeEach, describe, expect, it } from 'vitest';
import { STATS_MAX_AGE_MS } from '../../src/social-associations/association-directory.service';
import { request } from '../support/http';
import { expectProblem, problems } from '../support/problem';
import { tokenFor } from '../support/tokens';
import { useTestApp } from '../support/use-test-app';

const SEARCH = '/api/v2/social-associations/';
const STATS = '/api/v2/social-associations/stats/';

interface Row {
  user_id: number;
  provider: string;
  ext_id: string;
  created_at: string;
}

describe('GET /api/v2/social-associations/ (admin search) and /stats/', () => {
  const t = useTestApp();
  const f = t.f;

  let admin: string;
  let alice: { id: number };
  let bob: { id: number };

  /** Six links over six days (oldest first): alice's google/a-1, github/a-2, google/b-3, bob's google/b-4, github/x-5, external/a-6. */
  async function arrange(): Promise<void> {
    admin = tokenFor((await f.makeAdmin()).id);
    alice = await f.makeUser();
    bob = await f.makeUser();
    const links: [number, string, string][] = [
      [alice.id, 'google', 'a-1'],
      [alice.id, 'github', 'a-2'],
      [alice.id, 'google', 'b-3'],
      [bob.id, 'google', 'b-4'],
      [bob.id, 'github', 'x-5'],
      [bob.id, 'external', 'a-6'],
    ];
    for (const [userId, provider, extId] of links) await f.link(userId, { provider, ext_id: extId });
    // Spread the links over days, in the order they were made.
    await t.dataSource.query(
      `UPDATE social_associations SET created_at = timestamptz '2025-01-01T00:00:00Z' + id * interval '1 day'`,
    );
  }

  const search = (query = '', token = admin) => request(t.baseUrl, 'GET', `${SEARCH}${query}`, { token });
  const extIds = (rows: Row[]) => rows.map((row) => row.ext_id);

  it('stats of an empty database: zero, no providers (the first count of this app)', async () => {
    const token = tokenFor((await f.makeAdmin()).id);
    const response = await request(t.baseUrl, 'GET', STATS, { token });
    expect(response.body).toEqual({ total: 0, by_provider: {} });
  });

  describe('200', () => {
    beforeEach(arrange);

    it('every association, newest first, each with when it was linked', async () => {
      const response = await search();
      expect(response.status, response.text).toBe(200);
      expect(extIds(response.body.results)).toEqual(['a-6', 'x-5', 'b-4', 'b-3', 'a-2', 'a-1']);
      expect(response.body.next).toBeNull();
      expect(response.body.results[5]).toEqual({
        user_id: alice.id,
        provider: 'google',
        ext_id: 'a-1',
        profile_url: null,
        show_in_profile: false,
        metadata: null,
        created_at: '2025-01-02T00:00:00.000000Z',
      });
    });

    it.each([
      ['provider=google', ['b-4', 'b-3', 'a-1']],
      ['ext_id=b-3', ['b-3']],
      ['provider=github&ext_id=x-5', ['x-5']],
      ['provider=google&ext_id=x-5', []],
      ['ext_id_prefix=a-', ['a-6', 'a-2', 'a-1']],
      ['ext_id_prefix=b', ['b-4', 'b-3']],
      ['ext_id_prefix=A-', []],
      ['created_since=2025-01-04T00:00:00Z', ['a-6', 'x-5', 'b-4', 'b-3']],
      ['created_until=2025-01-04T00:00:00Z', ['a-2', 'a-1']],
      ['created_since=2025-01-03T00:00:00Z&created_until=2025-01-05T00:00:00Z', ['b-3', 'a-2']],
      // An offset, its + sent unencoded (it arrives as a space): 2025-01-05T01:00+01:00 is 2025-01-05T00:00Z.
      ['created_since=2025-01-05T01:00:00+01:00', ['a-6', 'x-5', 'b-4']],
      ['provider=google&ext_id_prefix=b&created_until=2025-01-05T00:00:00Z', ['b-3']],
    ])('filters combine: ?%s', async (query, expected) => {
      const response = await search(`?${query}`);
      expect(response.status, response.text).toBe(200);
      expect(extIds(response.body.results)).toEqual(expected);
    });

    it('filters by user_id', async () => {
      const response = await search(`?user_id=${bob.id}`);
      expect(extIds(response.body.results)).toEqual(['a-6', 'x-5', 'b-4']);
      expect(response.body.results.every((row: Row) => row.user_id === bob.id)).toBe(true);
    });

    it('pages with limit and the next cursor, the filters kept, to the last page (next null)', async () => {
      const seen: string[] = [];
      let cursor: string | null = '';
      let pages = 0;
      while (cursor !== null) {
        const response = await search(`?provider=google&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
        expect(response.status, response.text).toBe(200);
        expect(response.body.results.length).toBeLessThanOrEqual(2);
        seen.push(...extIds(response.body.results));
        cursor = response.body.next as string | null;
        pages += 1;
      }
      expect(pages).toBe(2);
      expect(seen).toEqual(['b-4', 'b-3', 'a-1']);
    });

    it('links made at the same instant are all paged through, once each (ties ordered by id)', async () => {
      await t.dataSource.query(`UPDATE social_associations SET created_at = timestamptz '2025-06-01T00:00:00Z'`);
      const first = await search('?limit=4');
      const second = await search(`?limit=4&cursor=${first.body.next}`);
      expect([...extIds(first.body.results), ...extIds(second.body.results)]).toEqual([
        'a-6',
        'x-5',
        'b-4',
        'b-3',
        'a-2',
        'a-1',
      ]);
      expect(second.body.next).toBeNull();
    });

    it('an ext_id with non-ASCII text is matched exactly and by prefix, code point by code point', async () => {
      await f.link(alice.id, { provider: 'keycloak', ext_id: 'zé-ü' });
      await f.link(alice.id, { provider: 'keycloak', ext_id: 'zé' });
      await f.link(alice.id, { provider: 'keycloak', ext_id: 'zf' });
      expect(extIds((await search(`?ext_id_prefix=${encodeURIComponent('zé')}`)).body.results).sort()).toEqual([
        'zé',
        'zé-ü',
      ]);
      expect(extIds((await search(`?ext_id=${encodeURIComponent('zé')}`)).body.results)).toEqual(['zé']);
    });

    it('limit up to 200', async () => {
      const response = await search('?limit=200');
      expect(response.status).toBe(200);
      expect(response.body.results).toHaveLength(6);
    });

    it('stats: the total and the count per provider, recounted once the last count is 5 s old', async () => {
      // The count of the empty database above may still be the one answered: wait it out.
      await new Promise((resolve) => setTimeout(resolve, STATS_MAX_AGE_MS + 100));
      const response = await request(t.baseUrl, 'GET', STATS, { token: admin });
      expect(response.status, response.text).toBe(200);
      expect(response.body).toEqual({ total: 6, by_provider: { external: 1, github: 2, google: 3 } });

      await f.link(alice.id, { provider: 'keycloak', ext_id: 'k-7' });
      expect((await request(t.baseUrl, 'GET', STATS, { token: admin })).body.total).toBe(6);
      await new Promise((resolve) => setTimeout(resolve, STATS_MAX_AGE_MS + 100));
      const recounted = await request(t.baseUrl, 'GET', STATS, { token: admin });
      expect(recounted.body).toEqual({ total: 7, by_provider: { external: 1, github: 2, google: 3, keycloak: 1 } });
    });
  });

  describe('400', () => {
    beforeEach(arrange);

    it.each([
      ['limit=0', 'limit'],
      ['limit=201', 'limit'],
      ['limit=ten', 'limit'],
      ['cursor=not-a-cursor', 'cursor'],
      // A cursor of another API (the audit trail's) is not one of this search's.
      ['cursor=MTIz', 'cursor'],
      ['provider=Google', 'provider'],
      ['user_id=0', 'user_id'],
      ['created_since=2025-01-01', 'created_since'],
      ['created_since=0000-01-01T00:00:00Z', 'created_since'],
      ['created_until=2025-02-30T00:00:00Z', 'created_until'],
      ['created_since=2025-01-05T00:00:00Z&created_until=2025-01-05T00:00:00Z', 'created_until'],
      [`ext_id_prefix=${'x'.repeat(256)}`, 'ext_id_prefix'],
      ['sort=asc', 'sort'],
    ])('?%s names %s', async (query, field) => {
      expectProblem(await search(`?${query}`), problems.invalidField(field));
    });

    it("the export's parameters are the filters only: ?limit is unknown there", async () => {
      const response = await request(t.baseUrl, 'GET', '/api/v2/social-associations/export/?limit=5', { token: admin });
      expectProblem(response, problems.invalidField('limit', 'unknown_field'));
    });
  });

  describe('401 and 403', () => {
    beforeEach(arrange);

    it.each([SEARCH, STATS, '/api/v2/social-associations/export/'])('%s: 401 without a token', async (path) => {
      expectProblem(await request(t.baseUrl, 'GET', path), problems.notAuthenticated());
    });

    it.each([SEARCH, STATS, '/api/v2/social-associations/export/'])(
      '%s: 403 permission_denied for a user who is not an admin, even for their own identities',
      async (path) => {
        const query = path === STATS ? '' : `?user_id=${alice.id}`;
        const response = await request(t.baseUrl, 'GET', `${path}${query}`, { token: tokenFor(alice.id) });
        expectProblem(response, problems.permissionDenied());
      },
    );
  });
});
