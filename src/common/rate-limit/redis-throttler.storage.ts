import { Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { ThrottlerStorage } from '@nestjs/throttler';
import Redis from 'ioredis';
import { ThrottlerStorageRecord } from './throttler-storage-record';

/**
 * One hit, atomically: count it in the window (the counter expires with the
 * window), and say whether the caller is over the limit and for how long.
 * KEYS: counter, block marker. ARGV: window ms, limit, block ms (0: the block
 * ends with the window). Returns { hits, window ms left, blocked 0|1, block ms left }.
 */
const HIT_SCRIPT = `
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local block = tonumber(ARGV[3])
if block > 0 then
  local blockLeft = redis.call('PTTL', KEYS[2])
  if blockLeft > 0 then
    return { limit + 1, blockLeft, 1, blockLeft }
  end
end
local hits = redis.call('INCR', KEYS[1])
local left = redis.call('PTTL', KEYS[1])
if left < 0 then
  redis.call('PEXPIRE', KEYS[1], window)
  left = window
end
if hits <= limit then
  return { hits, left, 0, 0 }
end
if block > 0 then
  redis.call('SET', KEYS[2], '1', 'PX', block)
  redis.call('DEL', KEYS[1])
  return { hits, block, 1, block }
end
return { hits, left, 1, left }
`;

type HitReply = [number, number, number, number];

/** A count that never limits: what a request gets while Redis is not available. */
const unlimited = (ttl: number): ThrottlerStorageRecord => ({
  totalHits: 0,
  timeToExpire: Math.ceil(ttl / 1000),
  isBlocked: false,
  timeToBlockExpire: 0,
});
type RedisWithHit = Redis & {
  rateLimitHit(counterKey: string, blockKey: string, window: number, limit: number, block: number): Promise<HitReply>;
};

const CONNECT_WAIT_MS = 3000;
/** A Redis that answers takes well under a millisecond; one that does not must not hold a request for long. */
const COMMAND_TIMEOUT_MS = 200;
/** After a failure, Redis is not asked again for this long: requests go through at once (fail open). */
const RETRY_AFTER_MS = 5000;
const WARN_INTERVAL_MS = 10_000;

/**
 * Rate-limit counters in Redis, shared by every instance of the service: a fixed
 * window per key, counted by one Lua script so concurrent instances cannot race.
 * (@nest-lab/throttler-storage-redis does not support Nest 12.)
 *
 * When Redis cannot be reached, or does not answer within COMMAND_TIMEOUT_MS,
 * the request is let through (fail open) and a warning is logged: rate limiting
 * must not take the API down with it. Redis is then left alone for
 * RETRY_AFTER_MS, so a frozen Redis costs one timeout per interval, not one per
 * request.
 */
export class RedisThrottlerStorage implements ThrottlerStorage, OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('RateLimit');
  private readonly redis: RedisWithHit;
  private lastWarning = 0;
  /** Until when Redis is not asked (after a failure). */
  private skipUntil = 0;

  constructor(
    url: string,
    private readonly keyPrefix: string,
  ) {
    this.redis = new Redis(url, {
      // Fail at once while disconnected instead of queueing requests behind a reconnect.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: COMMAND_TIMEOUT_MS,
      connectTimeout: CONNECT_WAIT_MS,
      lazyConnect: true,
    }) as RedisWithHit;
    this.redis.defineCommand('rateLimitHit', { numberOfKeys: 2, lua: HIT_SCRIPT });
    this.redis.on('error', (error: Error) => this.warn('Redis connection error; requests are not rate limited', error));
  }

  /** Connects before the first request, so every instance counts from the start; starts anyway when Redis is down. */
  async onModuleInit(): Promise<void> {
    try {
      await this.redis.connect();
    } catch (error) {
      this.warn('Redis is unreachable at start-up; requests are not rate limited until it is back', error);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  async increment(key: string, ttl: number, limit: number, blockDuration: number): Promise<ThrottlerStorageRecord> {
    // `key` names the throttler and the caller (RateLimitGuard.generateKey). The hash
    // tag keeps both keys of one caller in one slot (Redis Cluster).
    const base = `${this.keyPrefix}rate-limit:{${key}}`;
    if (Date.now() < this.skipUntil) return unlimited(ttl);
    try {
      const [hits, left, blocked, blockLeft] = await this.redis.rateLimitHit(
        `${base}:hits`,
        `${base}:blocked`,
        ttl,
        limit,
        blockDuration,
      );
      return {
        totalHits: hits,
        timeToExpire: Math.ceil(left / 1000),
        isBlocked: blocked === 1,
        timeToBlockExpire: Math.ceil(blockLeft / 1000),
      };
    } catch (error) {
      this.skipUntil = Date.now() + RETRY_AFTER_MS;
      this.warn(`Redis rate-limit storage failed; requests are let through for ${RETRY_AFTER_MS} ms`, error);
      return unlimited(ttl);
    }
  }

  /** At most one warning per interval: an outage must not flood the log. */
  private warn(message: string, error: unknown): void {
    const now = Date.now();
    if (now - this.lastWarning < WARN_INTERVAL_MS) return;
    this.lastWarning = now;
    this.logger.warn({ msg: message, err: error instanceof Error ? error.message : String(error) });
  }
}
