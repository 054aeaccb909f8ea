import { ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import type { FastifyRequest } from 'fastify';
import { TokenRejectedError } from './access-token';
import { Caller } from './caller';
import { IS_AUTH_OPTIONAL, IS_PUBLIC } from './decorators';

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

  override handleRequest<TUser = Caller>(error: unknown, user: TUser | false, info: unknown): TUser {
    if (error instanceof Error) throw error;
    if (error) throw new UnauthorizedException();
    if (user) return user;
    if (info instanceof TokenRejectedError) throw new UnauthorizedException(`Invalid token: ${info.message}`);
    throw new UnauthorizedException('Authentication credentials were not provided or are not a bearer token');
  }
}
