import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisThrottlerStorage } from './redis-throttler.storage';

const REDIS_URL = process.env.REDIS_URL;

/** Against a real Redis (REDIS_URL); the e2e tests cover the guard around it. */
describe('RedisThrottlerStorage', () => {
  const prefix = `test:${randomUUID()}:`;
  const redis = new Redis(REDIS_URL ?? '', { lazyConnect: true });
  let storage: RedisThrottlerStorage;

  beforeAll(async () => {
    storage = new RedisThrottlerStorage(REDIS_URL ?? '', prefix);
    await storage.onModuleInit();
  });
  afterAll(async () => {
    await storage.onApplicationShutdown();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('fixed window (no block duration): blocked past the limit until the window ends', async () => {
    const hit = () => storage.increment('default:user:1', 60_000, 2, 0);
    expect(await hit()).toEqual({ totalHits: 1, timeToExpire: 60, isBlocked: false, timeToBlockExpire: 0 });
    expect(await hit()).toMatchObject({ totalHits: 2, isBlocked: false });
    const over = await hit();
    expect(over).toMatchObject({ totalHits: 3, isBlocked: true });
    expect(over.timeToBlockExpire).toBeGreaterThanOrEqual(59);
    expect(over.timeToBlockExpire).toBeLessThanOrEqual(60);
  });

  it('a new window starts from zero', async () => {
    const hit = () => storage.increment('default:user:2', 200, 1, 0);
    expect(await hit()).toMatchObject({ totalHits: 1, isBlocked: false });
    expect(await hit()).toMatchObject({ isBlocked: true, timeToBlockExpire: 1 });
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(await hit()).toMatchObject({ totalHits: 1, isBlocked: false });
  });

  it('with a block duration: blocked for that long, then counted from zero', async () => {
    const hit = () => storage.increment('default:user:3', 60_000, 1, 300);
    expect(await hit()).toMatchObject({ totalHits: 1, isBlocked: false });
    expect(await hit()).toMatchObject({ totalHits: 2, isBlocked: true, timeToBlockExpire: 1 });
    expect(await hit()).toMatchObject({ isBlocked: true });
    await new Promise((resolve) => setTimeout(resolve, 350));
    expect(await hit()).toMatchObject({ totalHits: 1, isBlocked: false });
  });

  it('concurrent hits are counted exactly (one script per hit)', async () => {
    const results = await Promise.all(
      Array.from({ length: 50 }, () => storage.increment('default:ip:10.0.0.1', 60_000, 20, 0)),
    );
    expect(results.filter((r) => !r.isBlocked)).toHaveLength(20);
    expect(results.map((r) => r.totalHits).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  it('Redis unreachable: lets the request through', async () => {
    const down = new RedisThrottlerStorage('redis://127.0.0.1:1', prefix);
    await down.onModuleInit();
    expect(await down.increment('default:user:4', 60_000, 1, 0)).toMatchObject({ isBlocked: false });
    await down.onApplicationShutdown();
  });
});
