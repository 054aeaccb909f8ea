import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bootPair, closePair } from '../support/app-pair';
import { TestApp } from '../support/create-test-app';
import { factories } from '../support/factories';
import { request, TestResponse } from '../support/http';
import { expectProblem, problems } from '../support/problem';
import { expectThrottled, me } from '../support/rate-limit';
import { tokenFor } from '../support/tokens';
import { useRedisPrefixes } from '../support/redis-prefixes';

/**
 * Scale-out: several processes serve one PostgreSQL database and one Redis, and
 * every guarantee still holds, because none of them lives in a process. Runs when
 * DATABASE_URL and REDIS_URL are both set (see vitest.config.mts).
 */
const REDIS_URL = process.env.REDIS_URL ?? '';
const { client: redis, prefix: redisPrefix } = useRedisPrefixes(REDIS_URL, 'scale-out');

const sortedStatuses = (responses: TestResponse[]): number[] => responses.map((response) => response.status).sort();

describe('two instances, one PostgreSQL, one Redis', () => {
  let pair: [TestApp, TestApp] | undefined;
  let one: TestApp;
  let f: ReturnType<typeof factories>;
  /** Request i goes to instance i % 2. */
  const via = (i: number): TestApp => pair![i % 2];

  beforeAll(async () => {
    // Rate limiting on, in Redis, as in production; high enough never to refuse here.
    pair = await bootPair({ RATE_LIMIT_PER_MINUTE: '100000', REDIS_URL, REDIS_KEY_PREFIX: redisPrefix() });
    one = pair[0];
    f = factories(one);
  });
  afterAll(() => closePair(pair));
  beforeEach(() => one.reset());

  const del = (i: number, userId: number, token: string, body: Record<string, unknown>) =>
    request(via(i).baseUrl, 'DELETE', `/api/v2/user/${userId}/provider/`, { token, body });

  async function eventsFor(action: string, provider: string, extId: string): Promise<Record<string, unknown>[]> {
    return (await f.auditEvents()).filter(
      (event) => event.action === action && event.provider === provider && event.ext_id === extId,
    );
  }

  async function rowsFor(provider: string, extId: string): Promise<{ user_id: number | string }[]> {
    return one.dataSource.query('SELECT user_id FROM social_associations WHERE provider = $1 AND ext_id = $2', [
      provider,
      extId,
    ]);
  }

  it('parallel DELETEs of one association through both: one 204, the rest 404, the row gone, one audit event (5 rounds)', async () => {
    for (let round = 0; round < 5; round++) {
      const user = await f.makeUser();
      await f.link(user.id, { provider: 'google', ext_id: `g-${round}` });
      await f.link(user.id, { provider: 'google', ext_id: `kept-${round}` });
      const token = tokenFor(user.id);

      const responses = await Promise.all(
        Array.from({ length: 16 }, (_, i) => del(i, user.id, token, { provider: 'google', ext_id: `g-${round}` })),
      );

      const context = `round ${round}: ${responses.map((response) => response.text).join(' | ')}`;
      expect(sortedStatuses(responses), context).toEqual([204, ...Array<number>(15).fill(404)]);
      for (const response of responses.filter((r) => r.status === 404)) {
        expectProblem(response, problems.notFound(/has no \S+ association/));
      }
      const winner = responses.find((response) => response.status === 204)!;
      expect(await rowsFor('google', `g-${round}`), context).toEqual([]);
      expect(await f.countAssociations(user.id), context).toBe(1);
      expect(await eventsFor('social_association.deleted', 'google', `g-${round}`), context).toEqual([
        expect.objectContaining({ request_id: winner.headers.get('x-request-id') }),
      ]);
    }
  });

  it('a passwordless user deleting both of two associations through both: one 204, one 409 (10 rounds)', async () => {
    // The last-sign-in-method rule holds under the user's row lock, which PostgreSQL holds for every process.
    for (let round = 0; round < 10; round++) {
      const user = await f.makeUser({ has_usable_password: false });
      await f.link(user.id, { provider: 'google', ext_id: `g-${round}` });
      await f.link(user.id, { provider: 'github', ext_id: `h-${round}` });
      const token = tokenFor(user.id);

      const responses = await Promise.all([
        del(0, user.id, token, { provider: 'google', ext_id: `g-${round}` }),
        del(1, user.id, token, { provider: 'github', ext_id: `h-${round}` }),
      ]);

      expect(sortedStatuses(responses), `round ${round}`).toEqual([204, 409]);
      expectProblem(
        responses.find((response) => response.status === 409)!,
        problems.lastSignInMethod(),
      );
      expect(await f.countAssociations(user.id), `round ${round}`).toBe(1);
    }
  });

  it('parallel POSTs of one identity by two users through both: one 201, the rest 409, one row, one audit event (5 rounds)', async () => {
    const users = [await f.makeUser(), await f.makeUser()];
    for (let round = 0; round < 5; round++) {
      const extId = `contested-${round}`;
      // Every instance gets requests of both users: i % 2 picks the instance, (i >> 1) % 2 the user.
      const responses = await Promise.all(
        Array.from({ length: 16 }, (_, i) => {
          const user = users[(i >> 1) % 2];
          return request(via(i).baseUrl, 'POST', `/api/v2/user/${user.id}/provider/`, {
            token: tokenFor(user.id),
            body: { provider: 'github', ext_id: extId },
          });
        }),
      );

      const context = `round ${round}: ${responses.map((response) => response.text).join(' | ')}`;
      expect(sortedStatuses(responses), context).toEqual([201, ...Array<number>(15).fill(409)]);
      for (const response of responses.filter((r) => r.status === 409)) {
        expectProblem(response, problems.alreadyLinked());
      }
      const winner = responses.find((response) => response.status === 201)!;
      expect(winner.body).toMatchObject({ provider: 'github', ext_id: extId });
      const rows = await rowsFor('github', extId);
      expect(
        rows.map((row) => Number(row.user_id)),
        context,
      ).toEqual([winner.body.user_id]);
      expect(await eventsFor('social_association.created', 'github', extId), context).toEqual([
        expect.objectContaining({ request_id: winner.headers.get('x-request-id') }),
      ]);
    }
  });
});

describe('the rate limit, counted in Redis for both instances', () => {
  const LIMIT = 6;
  let pair: [TestApp, TestApp] | undefined;
  let prefix: string;

  beforeAll(async () => {
    prefix = redisPrefix();
    pair = await bootPair({ RATE_LIMIT_PER_MINUTE: String(LIMIT), REDIS_URL, REDIS_KEY_PREFIX: prefix });
  });
  afterAll(() => closePair(pair));

  it('one user alternating between the instances exhausts one budget: the 429 comes after LIMIT requests in all', async () => {
    const [one, two] = pair!;
    const user = await factories(one).makeUser();
    const token = tokenFor(user.id);

    // Each instance sees only LIMIT / 2 of these: with per-process counters none would be refused.
    for (let i = 0; i < LIMIT; i++) {
      const res = await me(pair![i % 2], token);
      expect(res.status, `request ${i + 1}: ${res.text}`).toBe(200);
      expect(res.headers.get('x-ratelimit-limit')).toBe(String(LIMIT));
      expect(res.headers.get('x-ratelimit-remaining'), `request ${i + 1}`).toBe(String(LIMIT - 1 - i));
    }
    expectThrottled(await me(pair![LIMIT % 2], token));
    expectThrottled(await me(pair![(LIMIT + 1) % 2], token));
    // Another user's budget is untouched, on either instance.
    const other = tokenFor((await factories(two).makeUser()).id);
    expect((await me(two, other)).status).toBe(200);
    expect((await me(one, other)).status).toBe(200);

    expect(await redis.keys(`${prefix}rate-limit:{default:user:${user.id}}:*`)).toEqual([
      `${prefix}rate-limit:{default:user:${user.id}}:hits`,
    ]);
  });
});
