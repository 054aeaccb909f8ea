import { describe, expect, it } from 'vitest';
import { isDatabaseUnavailable, isUniqueViolation } from './database-errors';

describe('isDatabaseUnavailable', () => {
  it.each([
    ['a connection refused', { code: 'ECONNREFUSED' }],
    ['no descriptor left for a connection (EMFILE)', { code: 'EMFILE' }],
    ['the system file table full (ENFILE)', { code: 'ENFILE' }],
    ['statement_timeout', { code: '57014' }],
    ['lock_timeout', { code: '55P03' }],
    ['the embedded socket gone', { code: 'ENOENT' }],
    ['a TypeORM QueryFailedError around a driver error', { driverError: { code: '55P03' } }],
    ['a pool that timed out', new Error('timeout exceeded when trying to connect')],
  ])('true for %s (a 503)', (_name, error) => {
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it.each([
    ['a unique violation', { code: '23505' }],
    ['a syntax error', { code: '42601' }],
    ['a plain error', new Error('boom')],
    ['not an error', 'EMFILE'],
  ])('false for %s', (_name, error) => {
    expect(isDatabaseUnavailable(error)).toBe(false);
  });

  it('a unique violation is recognised, directly or inside a QueryFailedError', () => {
    expect(isUniqueViolation({ code: '23505' })).toBe(true);
    expect(isUniqueViolation({ driverError: { code: '23505' } })).toBe(true);
    expect(isUniqueViolation({ code: '23503' })).toBe(false);
  });
});
