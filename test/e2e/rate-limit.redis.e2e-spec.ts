import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { factories } from '../support/factories';
import { TcpProxy } from '../support/tcp-proxy';
import { tokenFor } from '../support/tokens';
import { expectThrottled, me, publicList, useRateLimitedApps } from '../support/rate-limit';

const REDIS_URL = process.env.REDIS_URL ?? '';

/** Runs when REDIS_URL is set (CI sets it; see vitest.config.mts). */
describe('rate limiting (Redis, shared by every instance)', () => {
  const boot = useRateLimitedApps();
  const redis = new Redis(REDIS_URL, { lazyConnect: true });
  let prefix: string;

  afterEach(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
  });
  afterAll(() => redis.disconnect());

  it('two instances on one REDIS_URL share each budget; the counters live in Redis', async () => {
    prefix = `test:${randomUUID()}:`;
    const env = { RATE_LIMIT_PER_MINUTE: '3', REDIS_URL: REDIS_URL ?? '', REDIS_KEY_PREFIX: prefix };
    const [one, two] = [await boot(env), await boot(env)];

    expect((await publicList(one, 1)).status).toBe(404);
    expect((await publicList(two, 1)).status).toBe(404);
    expect((await publicList(one, 1)).status).toBe(404);
    expectThrottled(await publicList(two, 1));
    expectThrottled(await publicList(one, 1));

    // A user's budget is separate from the address's, and shared too.
    const [userOne, userTwo] = [await factories(one).makeUser(), await factories(two).makeUser()];
    expect(userOne.id).toBe(userTwo.id); // fresh databases: the same id, so the same caller
    const token = tokenFor(userOne.id);
    expect((await me(one, token)).status).toBe(200);
    expect((await me(two, token)).status).toBe(200);
    expect((await me(two, token)).status).toBe(200);
    expectThrottled(await me(one, token));

    const keys = (await redis.keys(`${prefix}*`)).sort();
    expect(keys).toEqual([
      `${prefix}rate-limit:{default:ip:127.0.0.1}:hits`,
      `${prefix}rate-limit:{default:user:${userOne.id}}:hits`,
    ]);
    const ttl = await redis.pttl(keys[0]);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it('Redis unreachable: the service starts and lets requests through (fail open)', async () => {
    prefix = `test:${randomUUID()}:`;
    // Nothing listens on port 1.
    const t = await boot({ RATE_LIMIT_PER_MINUTE: '1', REDIS_URL: 'redis://127.0.0.1:1', REDIS_KEY_PREFIX: prefix });
    for (let i = 0; i < 3; i++) expect((await publicList(t, 1)).status).toBe(404);
  });

  it('Redis that accepts but never answers: one request waits for it (200 ms), the next are not held up by it, and counting resumes once it answers again', async () => {
    prefix = `test:${randomUUID()}:`;
    const target = new URL(REDIS_URL);
    const proxy = new TcpProxy(target.hostname, Number(target.port || 6379));
    const port = await proxy.start();
    try {
      const t = await boot({
        RATE_LIMIT_PER_MINUTE: '2',
        REDIS_URL: `redis://127.0.0.1:${port}`,
        REDIS_KEY_PREFIX: prefix,
      });
      expect((await publicList(t, 1)).status).toBe(404); // counted in Redis: 1 of 2

      proxy.blackhole();
      const started = performance.now();
      expect((await publicList(t, 1)).status).toBe(404); // let through: fail open
      const firstMs = performance.now() - started;
      const askedOnce = proxy.heldFromClients();
      expect(askedOnce).toBeGreaterThan(0);
      for (let i = 0; i < 9; i++) expect((await publicList(t, 1)).status).toBe(404);
      // The first waited for the command timeout; the other nine did not ask Redis at all.
      expect(firstMs).toBeLessThan(1000);
      expect(proxy.heldFromClients()).toBe(askedOnce);

      proxy.heal();
      // After the retry interval (5 s) Redis is asked again, and the limit holds again.
      await new Promise((resolve) => setTimeout(resolve, 5200));
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) statuses.push((await publicList(t, 1)).status);
      expect(statuses).toContain(429);
    } finally {
      await proxy.stop();
    }
  }, 30_000);
});
