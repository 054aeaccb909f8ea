import { DomainError } from '../common/errors/domain-error';
import { CanActivate, ExecutionContext, Injectable, ServiceUnavailableException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Caller } from './caller';
import { IS_AUTH_OPTIONAL, IS_PUBLIC } from './decorators';
import { JwtStrategy } from './jwt.strategy';
import { KeySetUnavailableError, TokenRejectedError } from './token-verifier';

/** Seconds a client should wait before retrying when the identity provider's keys are unreachable. */
const KEY_SET_RETRY_AFTER_SECONDS = '5';

type Access = 'public' | 'optional' | 'required';

/** One authentication attempt: passport's own protocol (a strategy copy given success/fail/error). */
interface StrategyAttempt {
  authenticate(request: unknown, options: object): void;
}

type AttemptConstructor = new (
  success: (user: Caller) => void,
  fail: (info?: unknown) => void,
  error: (error: unknown) => void,
) => StrategyAttempt;

/**
 * The attempts of one strategy: objects whose prototype is the strategy, as passport's
 * Object.create(strategy) makes them, but built by one constructor. Object.create per
 * request gave every attempt a hidden class of its own, which V8 allocates in the old
 * generation: on Node 24 that doubled the peak RSS under a flood of 401s (417 -> 213 MB)
 * and cost a third of their CPU (bench/README.md, "Memory").
 */
function attemptsOf(strategy: object): AttemptConstructor {
  class Attempt {
    constructor(
      readonly success: (user: Caller) => void,
      readonly fail: (info?: unknown) => void,
      readonly error: (error: unknown) => void,
    ) {}
  }
  Object.setPrototypeOf(Attempt.prototype, strategy);
  return Attempt as unknown as AttemptConstructor;
}

/**
 * Global: every route needs a valid bearer token unless it is @Public(), or
 * @OptionalAuth() and the request carries no Authorization header.
 *
 * Authentication is passport-jwt's JwtStrategy (token from the Authorization header,
 * our verifier, then JwtStrategy.validate loads the caller), run the way passport
 * runs a strategy: a copy of it is given success/fail/error and asked to authenticate.
 * The guard does that itself instead of going through @nestjs/passport's AuthGuard and
 * passport.authenticate(), which only add what this service does not use (sessions,
 * strategy chains, redirects, options merged per request): on a 401 they cost ~6% of
 * the CPU besides the token check itself, and made most of the garbage that outlived a
 * young-generation GC (profiles in bench/RESULTS.md).
 */
@Injectable()
export class JwtAuthGuard implements CanActivate {
  /** Route access by handler, read once from the decorators. */
  private readonly accessByHandler = new WeakMap<object, Access>();
  private readonly Attempt: AttemptConstructor;

  constructor(
    private readonly reflector: Reflector,
    strategy: JwtStrategy,
  ) {
    this.Attempt = attemptsOf(strategy);
  }

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const access = this.accessOf(context);
    if (access === 'public') return true;
    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest & { user?: Caller }>();
    if (access === 'optional' && request.headers.authorization === undefined) return true;

    // passport's protocol is callbacks; an HS256 token is decided before authenticate() returns
    // (only loading the caller waits for the database), so the verdict is taken synchronously when
    // it is there: a refused token costs no promise, and its 401 is thrown from here.
    let settle: ((verdict: Verdict) => void) | undefined;
    let early: Verdict | undefined;
    const decide = (verdict: Verdict): void => (settle ? settle(verdict) : void (early = verdict));
    const attempt = new this.Attempt(
      (caller) => decide({ caller }),
      (info) => decide({ error: rejection(info, http.getResponse<FastifyReply>()) }),
      // validate() threw (e.g. 401 for an inactive user) or the database failed: the filter answers.
      (error) => decide({ error }),
    );
    attempt.authenticate(request, {});
    if (early) return admit(request, early);
    return new Promise<boolean>((resolve, reject) => {
      settle = (verdict) => {
        if (verdict.caller === undefined) {
          // Whatever validate() or the database raised: the filter answers it.
          reject(verdict.error instanceof Error ? verdict.error : new Error(String(verdict.error)));
          return;
        }
        request.user = verdict.caller;
        resolve(true);
      };
    });
  }

  private accessOf(context: ExecutionContext): Access {
    const handler = context.getHandler();
    let access = this.accessByHandler.get(handler);
    if (access === undefined) {
      const targets = [handler, context.getClass()];
      access = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)
        ? 'public'
        : this.reflector.getAllAndOverride<boolean>(IS_AUTH_OPTIONAL, targets)
          ? 'optional'
          : 'required';
      this.accessByHandler.set(handler, access);
    }
    return access;
  }
}

/** What passport-jwt decided: the caller, or the error the filter answers with. */
type Verdict = { caller: Caller; error?: undefined } | { caller?: undefined; error: unknown };

/** Attaches the caller and lets the request through, or throws the refusal. */
function admit(request: FastifyRequest & { user?: Caller }, verdict: Verdict): true {
  if (verdict.caller === undefined) throw verdict.error;
  request.user = verdict.caller;
  return true;
}

/** Why passport-jwt failed the request, as the error the filter answers with. */
function rejection(info: unknown, reply: FastifyReply): Error {
  if (info instanceof TokenRejectedError) return new DomainError('not_authenticated', `Invalid token: ${info.message}`);
  if (info instanceof KeySetUnavailableError) {
    // Not the client's fault and not a verdict on the token: 503, retry later.
    void reply.header('Retry-After', KEY_SET_RETRY_AFTER_SECONDS);
    return new ServiceUnavailableException(info.message);
  }
  // No Authorization header, or not "Bearer <token>".
  return new DomainError('not_authenticated', 'Authentication credentials were not provided or are not a bearer token');
}
