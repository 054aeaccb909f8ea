import { DynamicModule, Module } from '@nestjs/common';
import { ThrottlerModule, ThrottlerModuleOptions } from '@nestjs/throttler';
import { AppConfig } from '../../config/app-config';
import { MemoryThrottlerStorage } from './memory-throttler.storage';
import { RedisThrottlerStorage } from './redis-throttler.storage';

const WINDOW_MS = 60_000;

/**
 * Rate limiting (@nestjs/throttler): RATE_LIMIT_PER_MINUTE requests per caller
 * and minute, a fixed window counted in Redis when REDIS_URL is set (shared by
 * every instance), in memory otherwise. The guard itself, RateLimitGuard, is an APP_GUARD of AppModule.
 */
@Module({})
export class RateLimitModule {
  static forRoot(): DynamicModule {
    return {
      module: RateLimitModule,
      imports: [
        ThrottlerModule.forRootAsync({
          inject: [AppConfig],
          useFactory: ({ rateLimit }: AppConfig): ThrottlerModuleOptions => ({
            throttlers: [
              // blockDuration 0: a caller over the limit waits for the window to end, no longer.
              { name: 'default', ttl: WINDOW_MS, limit: rateLimit.perMinute, blockDuration: 0 },
            ],
            storage: rateLimit.redis
              ? new RedisThrottlerStorage(rateLimit.redis.url, rateLimit.redis.keyPrefix)
              : new MemoryThrottlerStorage(WINDOW_MS),
            errorMessage: (_context, { timeToBlockExpire }) =>
              `Too many requests; retry in ${timeToBlockExpire} second${timeToBlockExpire === 1 ? '' : 's'}`,
          }),
        }),
      ],
    };
  }
}
