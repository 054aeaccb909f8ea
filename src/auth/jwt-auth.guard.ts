import { withoutStackTrace } from '../common/errors/without-stack-trace';
import { ExecutionContext, Injectable, ServiceUnavailableException, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Caller } from './caller';
import { IS_AUTH_OPTIONAL, IS_PUBLIC } from './decorators';
import { KeySetUnavailableError, TokenRejectedError } from './token-verifier';

/** Seconds a client should wait before retrying when the identity provider's keys are unreachable. */
const KEY_SET_RETRY_AFTER_SECONDS = '5';

/**
 * Global: every route needs a valid bearer token unless it is @Public(), or
 * @OptionalAuth() and the request carries no Authorization header.
 */
@Injectable()
export class JwtAuthGuard extends AuthGuard('jwt') {
  constructor(private readonly reflector: Reflector) {
    super();
  }

  override canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const optional = this.reflector.getAllAndOverride<boolean>(IS_AUTH_OPTIONAL, targets);
    if (optional && context.switchToHttp().getRequest<FastifyRequest>().headers.authorization === undefined) {
      return true;
    }
    return super.canActivate(context) as Promise<boolean>;
  }

  override handleRequest<TUser = Caller>(
    error: unknown,
    user: TUser | false,
    info: unknown,
    context?: ExecutionContext,
  ): TUser {
    if (error instanceof Error) throw error;
    if (error) throw new UnauthorizedException();
    if (user) return user;
    if (info instanceof TokenRejectedError)
      throw withoutStackTrace(() => new UnauthorizedException(`Invalid token: ${info.message}`));
    if (info instanceof KeySetUnavailableError) {
      // Not the client's fault and not a verdict on the token: 503, retry later.
      context?.switchToHttp().getResponse<FastifyReply>().header('Retry-After', KEY_SET_RETRY_AFTER_SECONDS);
      throw new ServiceUnavailableException(info.message);
    }
    throw withoutStackTrace(
      () => new UnauthorizedException('Authentication credentials were not provided or are not a bearer token'),
    );
  }
}
