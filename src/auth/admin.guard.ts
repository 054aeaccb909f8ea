import { CanActivate, ExecutionContext, ForbiddenException, Injectable, UnauthorizedException } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { Caller } from './caller';

/** Passes callers whose role (read from the database) is admin. */
@Injectable()
export class AdminGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const caller = context.switchToHttp().getRequest<FastifyRequest & { user?: Caller }>().user;
    if (!caller) throw new UnauthorizedException('Authentication credentials were not provided');
    if (!caller.isAdmin) throw new ForbiddenException('This operation requires the admin role');
    return true;
  }
}
