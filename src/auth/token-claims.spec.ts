import { describe, expect, it } from 'vitest';
import { checkTimeClaims, userIdFromClaim, userIdFromNumber } from './token-claims';
import { TokenRejectedError } from './token-verifier';

const NOW = 1_700_000_000;
const SKEW = 30;
const DAY = 86_400;
const RULES = { clockToleranceSeconds: SKEW, maxLifetimeSeconds: DAY };

describe('checkTimeClaims', () => {
  const valid = { iat: NOW - 10, exp: NOW + 3600 };

  it('accepts a token that lives exactly the maximum lifetime', () => {
    expect(() => checkTimeClaims({ iat: NOW - 10, exp: NOW - 10 + DAY }, NOW, RULES)).not.toThrow();
  });

  it('accepts a current token, and one within the skew on iat and nbf', () => {
    expect(() => checkTimeClaims(valid, NOW, RULES)).not.toThrow();
    expect(() => checkTimeClaims({ iat: NOW + SKEW, exp: NOW + 1, nbf: NOW + SKEW }, NOW, RULES)).not.toThrow();
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['no exp', { iat: NOW }, /no expiry/],
    ['exp as a string', { ...valid, exp: String(NOW + 3600) }, /no expiry/],
    ['exp now (no skew on exp)', { ...valid, exp: NOW }, /expired/],
    ['exp a second ago', { ...valid, exp: NOW - 1 }, /expired/],
    ['no iat', { exp: NOW + 60 }, /no issue time/],
    ['iat beyond the skew', { ...valid, iat: NOW + SKEW + 1 }, /future/],
    ['nbf beyond the skew', { ...valid, nbf: NOW + SKEW + 1 }, /not valid yet/],
    ['nbf not a number', { ...valid, nbf: 'now' }, /not valid yet/],
    ['a lifetime a second over the maximum', { iat: NOW, exp: NOW + DAY + 1 }, /lives longer/],
    ['exp: 1e308', { iat: NOW, exp: 1e308 }, /lives longer/],
  ])('refuses %s', (_name, claims, reason) => {
    expect(() => checkTimeClaims(claims, NOW, RULES)).toThrow(TokenRejectedError);
    expect(() => checkTimeClaims(claims, NOW, RULES)).toThrow(reason);
  });
});

describe('user id claims', () => {
  it.each([1, 7, 2_147_483_647])('a number %d is a user id', (value) => {
    expect(userIdFromNumber(value)).toBe(value);
    expect(userIdFromClaim(value)).toBe(value);
  });

  it.each([0, -1, 1.5, 2 ** 31, Number.NaN, '7', null, true, [7]])('userIdFromNumber refuses %j', (value) => {
    expect(userIdFromNumber(value)).toBeUndefined();
  });

  it('userIdFromClaim also takes the canonical decimal string (sub), nothing looser', () => {
    expect(userIdFromClaim('7')).toBe(7);
    expect(userIdFromClaim('2147483647')).toBe(2_147_483_647);
    for (const value of ['07', '7 ', ' 7', '+7', '7.0', '1e3', '0x7', '2147483648', '0', '', 'abc', '७']) {
      expect(userIdFromClaim(value), value).toBeUndefined();
    }
  });
});
