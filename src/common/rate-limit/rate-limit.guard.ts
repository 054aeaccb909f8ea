import { ExecutionContext, Injectable } from '@nestjs/common';
import { normalizeIp, ThrottlerGuard, ThrottlerRequest } from '@nestjs/throttler';
import type { FastifyRequest } from 'fastify';

/** What ThrottlerGuard resolved for one throttler of a route: all but the request's context. */
type ThrottlePlan = Omit<ThrottlerRequest, 'context'>;

/**
 * Global, registered after JwtAuthGuard so the caller is known: one budget per
 * authenticated user (`user:<id>`), else per client address (`ip:<address>`,
 * IPv6 by /64), shared by every route. Health routes opt out with @SkipThrottle().
 * Requests refused by authentication (401) never reach this guard.
 *
 * ThrottlerGuard resolves each route's settings (skip, limit, ttl, block duration,
 * tracker, key) from the decorators on every request: a dozen metadata lookups
 * and as many promises, ~2% of the CPU of a list request. Ours are constants, so
 * the first request of a route records what the library resolved (the throttlers
 * it counted, with their settings) and later ones go straight to its counting
 * (handleRequest), with the same storage, headers and 429.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  /**
   * By route handler: the throttlers that count its requests, as ThrottlerGuard resolved them;
   * null for a route whose settings depend on the request (ThrottlerGuard resolves them each time).
   */
  private readonly plans = new WeakMap<object, ThrottlePlan[] | null>();
  /** A route's first requests, while they run through ThrottlerGuard: what handleRequest was given. */
  private readonly recordings = new WeakMap<ExecutionContext, ThrottlePlan[]>();

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const plans = this.plans.get(context.getHandler());
    if (plans === undefined) return this.resolveAndRecord(context);
    if (plans === null) return super.canActivate(context);
    for (const plan of plans) await this.handleRequest({ ...plan, context });
    return true; // handleRequest throws the 429
  }

  protected override handleRequest(requestProps: ThrottlerRequest): Promise<boolean> {
    const { context, ...plan } = requestProps;
    this.recordings.get(context)?.push(plan);
    return super.handleRequest(requestProps);
  }

  protected override getTracker(request: Record<string, unknown>): Promise<string> {
    // `user` is whatever authentication attached; only its id matters here.
    const { user, ip } = request as unknown as FastifyRequest & { user?: { id: number } };
    return Promise.resolve(user ? `user:${user.id}` : `ip:${normalizeIp(ip)}`);
  }

  protected override generateKey(_context: unknown, tracker: string, throttlerName: string): string {
    return `${throttlerName}:${tracker}`;
  }

  /**
   * The library's own path. What it resolved is kept for the route unless a setting is a function
   * (of the request: @Throttle() or the module's options can give one), which must be resolved each time.
   */
  private async resolveAndRecord(context: ExecutionContext): Promise<boolean> {
    const routeSettings = [context.getHandler(), context.getClass()].flatMap((target) =>
      Reflect.getMetadataKeys(target)
        .filter((key) => typeof key === 'string' && key.startsWith('THROTTLER:'))
        .map((key) => Reflect.getMetadata(key, target) as unknown),
    );
    const perRequest =
      routeSettings.some((setting) => typeof setting === 'function') ||
      this.commonOptions.skipIf !== undefined ||
      this.throttlers.some(
        (t) =>
          t.skipIf !== undefined ||
          typeof t.limit === 'function' ||
          typeof t.ttl === 'function' ||
          typeof t.blockDuration === 'function',
      );
    if (perRequest) {
      this.plans.set(context.getHandler(), null);
      return super.canActivate(context);
    }
    const recorded: ThrottlePlan[] = [];
    this.recordings.set(context, recorded);
    // A 429 (thrown) leaves the recording incomplete: the next request of the route records again.
    const admitted = await super.canActivate(context);
    this.plans.set(context.getHandler(), recorded);
    return admitted;
  }
}
