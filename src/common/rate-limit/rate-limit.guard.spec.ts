import { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { SkipThrottle, Throttle, ThrottlerException } from '@nestjs/throttler';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryThrottlerStorage } from './memory-throttler.storage';
import { RateLimitGuard } from './rate-limit.guard';

class Routes {
  plain(): void {}

  @SkipThrottle()
  health(): void {}

  // A limit that depends on the request: it must be resolved on every request, never kept.
  @Throttle({ default: { limit: (context: ExecutionContext) => limitFor(context), ttl: 60_000 } })
  perRequest(): void {}
}

const limitFor = (context: ExecutionContext): number =>
  context.switchToHttp().getRequest<{ headers: Record<string, string> }>().headers['x-limit'] === 'high' ? 100 : 1;

/** A request of user 7 to one of the routes above; `headers` records what the guard set on the reply. */
function requestTo(route: keyof Routes, requestHeaders: Record<string, string> = {}) {
  const headers: Record<string, unknown> = {};
  const request = { user: { id: 7 }, ip: '127.0.0.1', headers: requestHeaders };
  const reply = {
    header(name: string, value: unknown) {
      headers[name.toLowerCase()] = value;
      return reply;
    },
  };
  const http = { getRequest: () => request, getResponse: () => reply, getNext: () => undefined };
  // The handler as Nest hands it to guards: the route's method, never called here.
  const handler: unknown = Object.getOwnPropertyDescriptor(Routes.prototype, route)?.value;
  const context = {
    getHandler: () => handler,
    getClass: () => Routes,
    switchToHttp: () => http,
    getType: () => 'http',
  } as unknown as ExecutionContext;
  return { context, headers };
}

describe('RateLimitGuard: what ThrottlerGuard resolved, kept per route', () => {
  let storage: MemoryThrottlerStorage;
  afterEach(() => storage.onApplicationShutdown());

  async function guardWithLimit(limit: number): Promise<RateLimitGuard> {
    storage = new MemoryThrottlerStorage(60_000);
    const guard = new RateLimitGuard(
      { throttlers: [{ name: 'default', ttl: 60_000, limit, blockDuration: 0 }] },
      storage,
      new Reflector(),
    );
    await guard.onModuleInit();
    return guard;
  }

  it('counts every request of a route the same way, the first and the later ones, then 429', async () => {
    const guard = await guardWithLimit(3);
    const remaining: unknown[] = [];
    for (let i = 0; i < 3; i++) {
      const { context, headers } = requestTo('plain');
      expect(await guard.canActivate(context)).toBe(true);
      remaining.push(headers['x-ratelimit-remaining']);
    }
    expect(remaining).toEqual([2, 1, 0]);
    await expect(guard.canActivate(requestTo('plain').context)).rejects.toBeInstanceOf(ThrottlerException);
    await expect(guard.canActivate(requestTo('plain').context)).rejects.toBeInstanceOf(ThrottlerException);
  });

  it('a route with @SkipThrottle() is never counted, on its first request or later', async () => {
    const guard = await guardWithLimit(1);
    for (let i = 0; i < 5; i++) {
      const { context, headers } = requestTo('health');
      expect(await guard.canActivate(context)).toBe(true);
      expect(headers['x-ratelimit-remaining']).toBeUndefined();
    }
  });

  it('a setting that is a function of the request is resolved for each request', async () => {
    const guard = await guardWithLimit(1000);
    expect(await guard.canActivate(requestTo('perRequest').context)).toBe(true);
    // Limit 1 for this request: a second one is over it, unless that request asks for the high limit.
    await expect(guard.canActivate(requestTo('perRequest').context)).rejects.toBeInstanceOf(ThrottlerException);
    const { context, headers } = requestTo('perRequest', { 'x-limit': 'high' });
    expect(await guard.canActivate(context)).toBe(true);
    expect(headers['x-ratelimit-limit']).toBe(100);
  });
});
