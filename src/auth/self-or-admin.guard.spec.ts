import { ForbiddenException, UnauthorizedException } from '@nestjs/common';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { describe, expect, it } from 'vitest';
import { Caller } from './caller';
import { SelfOrAdminGuard } from './self-or-admin.guard';

const caller = (id: number, overrides: Partial<Caller> = {}): Caller => ({
  id,
  role: null,
  hasUsablePassword: true,
  isAdmin: false,
  ...overrides,
});
const admin = (id: number): Caller => caller(id, { role: 'admin', isAdmin: true });

/** A hand-built HTTP ExecutionContext around a request with these parts. */
function contextFor(request: {
  user?: Caller;
  params?: Record<string, unknown>;
  body?: unknown;
}): ExecutionContextHost {
  const context = new ExecutionContextHost([request, {}, () => undefined]);
  context.setType('http');
  return context;
}

describe('SelfOrAdminGuard', () => {
  const guard = new SelfOrAdminGuard();
  const check = (request: Parameters<typeof contextFor>[0]) => guard.canActivate(contextFor(request));

  describe('routes with a path id', () => {
    it('passes the caller acting on themselves', () => {
      expect(check({ user: caller(7), params: { id: '7' } })).toBe(true);
    });

    it('passes an admin acting on another user', () => {
      expect(check({ user: admin(1), params: { id: '7' } })).toBe(true);
    });

    it('passes an admin on a user id that may not exist (the service answers 404)', () => {
      expect(check({ user: admin(1), params: { id: '2147483647' } })).toBe(true);
    });

    it('403 for another non-admin user', () => {
      expect(() => check({ user: caller(8), params: { id: '7' } })).toThrow(ForbiddenException);
    });

    it.each(['moderator', 'editor'] as const)('403 for a %s on another user', (role) => {
      expect(() => check({ user: caller(8, { role }), params: { id: '7' } })).toThrow(ForbiddenException);
    });

    it('403 when the path names another user even if body user_id names the caller', () => {
      expect(() => check({ user: caller(8), params: { id: '7' }, body: { user_id: 8 } })).toThrow(ForbiddenException);
    });

    it.each(['abc', '0', '-1', '1.5', '99999999999', '2147483648', '007', '1e3', ''])(
      'passes a malformed path id %j on, so the pipe answers 400',
      (id) => {
        expect(check({ user: caller(8), params: { id } })).toBe(true);
      },
    );

    it('401 without an authenticated caller', () => {
      expect(() => check({ params: { id: '7' } })).toThrow(UnauthorizedException);
    });
  });

  describe('routes without a path id (body user_id)', () => {
    it('passes the caller naming themselves in body user_id', () => {
      expect(check({ user: caller(7), params: {}, body: { user_id: 7 } })).toBe(true);
    });

    it('passes the caller naming themselves in body user_id as a numeric string', () => {
      expect(check({ user: caller(7), params: {}, body: { user_id: '7' } })).toBe(true);
    });

    it('403 for a non-admin naming another user in body user_id', () => {
      expect(() => check({ user: caller(8), body: { user_id: 7 } })).toThrow(ForbiddenException);
      expect(() => check({ user: caller(8), params: {}, body: { user_id: '7' } })).toThrow(ForbiddenException);
    });

    it('passes an admin naming another user in body user_id', () => {
      expect(check({ user: admin(1), params: {}, body: { user_id: 7 } })).toBe(true);
    });

    it.each([
      ['no user_id', { ext_id: '1' }],
      ['a malformed user_id', { user_id: 'abc' }],
      ['user_id 0', { user_id: 0 }],
      ['user_id 1.5', { user_id: 1.5 }],
    ])('passes a body with %s on, so the pipe or service answers 400', (_name, body) => {
      expect(check({ user: caller(8), params: {}, body })).toBe(true);
    });

    it.each([
      ['null', null],
      ['an array', [{ user_id: 7 }]],
      ['a string', '7'],
      ['absent', undefined],
    ])('passes a body that is %s on, so the pipe answers 400', (_name, body) => {
      expect(check({ user: caller(8), params: {}, body })).toBe(true);
    });

    it('401 without an authenticated caller', () => {
      expect(() => check({ params: {}, body: { user_id: 7 } })).toThrow(UnauthorizedException);
    });
  });
});
