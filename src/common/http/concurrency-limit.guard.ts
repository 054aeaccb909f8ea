import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { AppConfig } from '../../config/app-config';
import { DomainError } from '../errors/domain-error';

/** Requests of one user waiting for a turn, at most; past it, 429 at once. */
const MAX_WAITING_PER_USER = 64;

/** Where the guard leaves the request's turn, for the route handler's end to give back. */
const TURN = Symbol('concurrency turn');

type WithTurn = FastifyRequest & { user?: { id: number }; [TURN]?: () => void };

interface Turns {
  running: number;
  waiting: (() => void)[];
}

/**
 * At most MAX_CONCURRENT_REQUESTS_PER_USER requests of one authenticated user run
 * at a time in this process; the next ones wait for a turn, for at most half of
 * the request's time budget (DATABASE_TIMEOUT_MS, counted from its arrival), then
 * get a 503. So one user whose requests are stuck (behind a row lock someone
 * holds, say) holds at most that many of the database pool's connections, and
 * everyone else keeps being served; the other half of the budget bounds the lock
 * wait (lock_timeout), so such a request ends within its budget.
 *
 * The last global guard: the caller is known, and requests that authentication or the rate
 * limit refuse never count (one a route's own guard refuses holds its turn until that 403).
 * The turn is given back when the route's handler has finished (pipes, handler,
 * response or error filter): releaseTurnsWhenHandled wraps every route's handler.
 * A guard and that wrapper rather than a Nest interceptor, because any
 * interceptor makes Nest run each request through RxJS: a fifth of the CPU of a
 * list request (bench/RESULTS.md).
 *
 * Counted after authentication, so per user, not per token. Anonymous requests
 * are bounded by the rate limit instead (they read, and take no locks).
 */
@Injectable()
export class ConcurrencyLimitGuard implements CanActivate {
  private readonly turns = new Map<number, Turns>();
  private readonly max: number;
  private readonly maxWaitMs: number;

  constructor(config: AppConfig) {
    this.max = config.maxConcurrentRequestsPerUser;
    this.maxWaitMs = config.db.timeoutMs / 2;
  }

  canActivate(context: ExecutionContext): true | Promise<true> {
    const http = context.switchToHttp();
    const request = http.getRequest<WithTurn>();
    const userId = request.user?.id;
    if (userId === undefined) return true;
    const turns = this.turns.get(userId) ?? { running: 0, waiting: [] };
    this.turns.set(userId, turns);
    const give = (): true => {
      request[TURN] = () => this.release(userId, turns);
      return true;
    };
    if (turns.running < this.max) {
      turns.running++;
      return give();
    }
    if (turns.waiting.length >= MAX_WAITING_PER_USER) {
      void http.getResponse<FastifyReply>().header('retry-after', '1');
      throw new DomainError(
        'too_many_concurrent_requests',
        `Too many requests of one user are in progress (${this.max} run, ${MAX_WAITING_PER_USER} wait); retry when some have finished`,
      );
    }
    const waitMs = this.maxWaitMs - http.getResponse<FastifyReply>().elapsedTime;
    return this.waitForTurn(turns, waitMs).then(give);
  }

  /** Resolves when a running request of the user hands its turn over; rejects after `waitMs`. */
  private waitForTurn(turns: Turns, waitMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const take = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(
        () => {
          turns.waiting.splice(turns.waiting.indexOf(take), 1);
          reject(
            new DomainError(
              'service_unavailable',
              'The requests of this user already in progress take too long; retry later',
            ),
          );
        },
        Math.max(0, waitMs),
      );
      turns.waiting.push(take);
    });
  }

  /** The turn passes to the user's next waiting request, if any. */
  private release(userId: number, turns: Turns): void {
    const next = turns.waiting.shift();
    if (next) {
      next(); // `running` stays: the turn changes hands
      return;
    }
    turns.running--;
    if (turns.running === 0) this.turns.delete(userId);
  }
}

/**
 * For Fastify's onRoute hook: every route's handler gives back the turn its
 * request took (ConcurrencyLimitGuard), once the handler has settled. Nest's
 * handler settles after the response or the error filter, whatever happened,
 * a client that went away included: the turn is held exactly as long as the
 * request's work.
 */
export function releaseTurnsWhenHandled(route: RouteOptions): void {
  const handler = route.handler;
  route.handler = function (this: FastifyInstance, request, reply) {
    const giveBack = (): void => {
      const release = (request as WithTurn)[TURN];
      if (release === undefined) return;
      (request as WithTurn)[TURN] = undefined;
      release();
    };
    let settled: unknown;
    try {
      settled = handler.call(this, request, reply);
    } catch (error) {
      giveBack();
      throw error;
    }
    if (settled instanceof Promise) return settled.finally(giveBack);
    giveBack();
    return settled;
  };
}
