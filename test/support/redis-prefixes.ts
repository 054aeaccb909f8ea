import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { afterAll } from 'vitest';

/**
 * Redis key prefixes for the instances of one test file, each group of instances its own,
 * so that files sharing a Redis never count each other's requests. Call it at the top of
 * the file: it registers an afterAll that deletes every key under the prefixes it gave out,
 * then disconnects `client` (which a test may use to look at the keys).
 */
export function useRedisPrefixes(redisUrl: string, name: string): { client: Redis; prefix: () => string } {
  const redis = new Redis(redisUrl, { lazyConnect: true });
  const prefixes: string[] = [];
  afterAll(async () => {
    for (const prefix of prefixes) {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
    }
    redis.disconnect();
  });
  return {
    client: redis,
    prefix: () => {
      const prefix = `test:${name}:${randomUUID()}:`;
      prefixes.push(prefix);
      return prefix;
    },
  };
}
