import { Injectable } from '@nestjs/common';
import { normalizeIp, ThrottlerGuard } from '@nestjs/throttler';
import type { FastifyRequest } from 'fastify';

/**
 * Global, registered after JwtAuthGuard so the caller is known: one budget per
 * authenticated user (`user:<id>`), else per client address (`ip:<address>`,
 * IPv6 by /64), shared by every route. Health routes opt out with @SkipThrottle().
 * Requests refused by authentication (401) never reach this guard.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  protected override getTracker(request: Record<string, unknown>): Promise<string> {
    // `user` is whatever authentication attached; only its id matters here.
    const { user, ip } = request as unknown as FastifyRequest & { user?: { id: number } };
    return Promise.resolve(user ? `user:${user.id}` : `ip:${normalizeIp(ip)}`);
  }

  protected override generateKey(_context: unknown, tracker: string, throttlerName: string): string {
    return `${throttlerName}:${tracker}`;
  }
}
