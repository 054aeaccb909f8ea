import { applyDecorators, createParamDecorator, ExecutionContext, SetMetadata, UseGuards } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { Caller } from './caller';
import { ApiAuth, ApiNoAuth, ApiOptionalAuth } from '../openapi/api-responses';
import { AdminGuard } from './admin.guard';
import { SelfOrAdminGuard } from './self-or-admin.guard';

export const IS_PUBLIC = 'auth:public';
export const IS_AUTH_OPTIONAL = 'auth:optional';

/** Opens a route to anonymous callers (routes are closed by default). */
export const Public = (): MethodDecorator & ClassDecorator =>
  applyDecorators(SetMetadata(IS_PUBLIC, true), ApiNoAuth());

/** Any authenticated caller: what JwtAuthGuard enforces by default, said and documented. */
export const Authenticated = (): MethodDecorator & ClassDecorator => ApiAuth();

/** Authenticates when a token is sent, lets anonymous callers through otherwise. */
export const OptionalAuth = (): MethodDecorator & ClassDecorator =>
  applyDecorators(SetMetadata(IS_AUTH_OPTIONAL, true), ApiOptionalAuth());

/** The caller must be the user named by the path id (or body `user_id`), or an admin. */
export const SelfOrAdmin = (): MethodDecorator & ClassDecorator =>
  applyDecorators(UseGuards(SelfOrAdminGuard), ApiAuth());

/** Only admins. */
export const AdminOnly = (): MethodDecorator & ClassDecorator => applyDecorators(UseGuards(AdminGuard), ApiAuth());

type RequestWithCaller = FastifyRequest & { user?: Caller };

/** The authenticated caller (undefined on anonymous requests to optional-auth routes). */
export const CurrentUser = createParamDecorator(
  (_data: unknown, context: ExecutionContext): Caller | undefined =>
    context.switchToHttp().getRequest<RequestWithCaller>().user,
);
