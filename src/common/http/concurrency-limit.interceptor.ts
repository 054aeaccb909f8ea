import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { defer, finalize, Observable, switchMap } from 'rxjs';
import { AppConfig } from '../../config/app-config';
import { DomainError } from '../errors/domain-error';

/** Requests of one user waiting for a turn, at most; past it, 429 at once. */
const MAX_WAITING_PER_USER = 64;

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
 * Counted after authentication, so per user, not per token. Anonymous requests
 * are bounded by the rate limit instead (they read, and take no locks).
 */
@Injectable()
export class ConcurrencyLimitInterceptor implements NestInterceptor {
  private readonly turns = new Map<number, Turns>();
  private readonly max: number;
  private readonly maxWaitMs: number;

  constructor(config: AppConfig) {
    this.max = config.maxConcurrentRequestsPerUser;
    this.maxWaitMs = config.db.timeoutMs / 2;
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = context.switchToHttp();
    const userId = http.getRequest<FastifyRequest & { user?: { id: number } }>().user?.id;
    if (userId === undefined) return next.handle();
    const turns = this.turns.get(userId) ?? { running: 0, waiting: [] };
    this.turns.set(userId, turns);
    if (turns.running < this.max) {
      turns.running++;
      return next.handle().pipe(finalize(() => this.release(userId, turns)));
    }
    if (turns.waiting.length >= MAX_WAITING_PER_USER) {
      void http.getResponse<FastifyReply>().header('retry-after', '1');
      throw new DomainError(
        'too_many_concurrent_requests',
        `Too many requests of one user are in progress (${this.max} run, ${MAX_WAITING_PER_USER} wait); retry when some have finished`,
      );
    }
    const waitMs = this.maxWaitMs - http.getResponse<FastifyReply>().elapsedTime;
    return defer(() => this.waitForTurn(turns, waitMs)).pipe(
      switchMap(() => next.handle().pipe(finalize(() => this.release(userId, turns)))),
    );
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
