import { OnApplicationShutdown } from '@nestjs/common';
import { ThrottlerStorage } from '@nestjs/throttler';
import { ThrottlerStorageRecord } from './throttler-storage-record';

interface Window {
  hits: number;
  expiresAt: number;
}

/**
 * Rate-limit counters in this process (no REDIS_URL): the same fixed window per
 * key as RedisThrottlerStorage, so a limit behaves alike with and without Redis.
 * One map lookup per request and a sweep of ended windows once per `sweepMs`;
 * @nestjs/throttler's own in-memory storage keeps a timestamp per hit and
 * scans them on every request.
 */
export class MemoryThrottlerStorage implements ThrottlerStorage, OnApplicationShutdown {
  private readonly windows = new Map<string, Window>();
  private readonly blockedUntil = new Map<string, number>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    sweepMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.sweeper = setInterval(() => this.sweep(), sweepMs).unref();
  }

  increment(key: string, ttl: number, limit: number, blockDuration: number): Promise<ThrottlerStorageRecord> {
    const now = this.now();
    const blockEnd = this.blockedUntil.get(key);
    if (blockEnd !== undefined && blockEnd > now) {
      const left = seconds(blockEnd - now);
      return Promise.resolve({ totalHits: limit + 1, timeToExpire: left, isBlocked: true, timeToBlockExpire: left });
    }
    let window = this.windows.get(key);
    if (window === undefined || window.expiresAt <= now) {
      window = { hits: 0, expiresAt: now + ttl };
      this.windows.set(key, window);
    }
    window.hits += 1;
    const left = seconds(window.expiresAt - now);
    if (window.hits <= limit) {
      return Promise.resolve({ totalHits: window.hits, timeToExpire: left, isBlocked: false, timeToBlockExpire: 0 });
    }
    if (blockDuration > 0) {
      // Over the limit with a block: the caller waits blockDuration, then starts a new window.
      this.blockedUntil.set(key, now + blockDuration);
      this.windows.delete(key);
      const blockLeft = seconds(blockDuration);
      return Promise.resolve({
        totalHits: window.hits,
        timeToExpire: blockLeft,
        isBlocked: true,
        timeToBlockExpire: blockLeft,
      });
    }
    return Promise.resolve({ totalHits: window.hits, timeToExpire: left, isBlocked: true, timeToBlockExpire: left });
  }

  onApplicationShutdown(): void {
    clearInterval(this.sweeper);
  }

  /** Forgets ended windows and blocks, so callers seen once do not stay in memory. */
  sweep(): void {
    const now = this.now();
    for (const [key, window] of this.windows) if (window.expiresAt <= now) this.windows.delete(key);
    for (const [key, end] of this.blockedUntil) if (end <= now) this.blockedUntil.delete(key);
  }

  /** Keys held (windows and blocks): for tests. */
  get size(): number {
    return this.windows.size + this.blockedUntil.size;
  }
}

const seconds = (ms: number): number => Math.ceil(ms / 1000);
