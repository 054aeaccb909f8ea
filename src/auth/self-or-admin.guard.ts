import { CanActivate, ExecutionContext, ForbiddenException, Injectable, UnauthorizedException } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { parseId } from '../common/validation/ids';
import { Caller } from './caller';

/**
 * Passes admins and callers acting on themselves; answers 403 before anything
 * looks the target user up, so a 403 says nothing about whether that user exists.
 * Guards run before pipes: a malformed id is left for the pipe to answer with 400.
 */
@Injectable()
export class SelfOrAdminGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<FastifyRequest & { user?: Caller }>();
    const caller = request.user;
    if (!caller) throw new UnauthorizedException('Authentication credentials were not provided');
    if (caller.isAdmin) return true;

    const params = request.params as Record<string, unknown> | undefined;
    const body = request.body as Record<string, unknown> | undefined;
    const rawId =
      params?.id ?? (body !== null && typeof body === 'object' && !Array.isArray(body) ? body.user_id : undefined);
    const targetId = parseId(rawId);
    if (targetId === undefined || targetId === caller.id) return true;
    throw new ForbiddenException('You do not have permission to manage the social associations of this user');
  }
}
