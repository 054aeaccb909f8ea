import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Hs256JwtConfig } from '../config/app-config';
import { AccessTokenCodec, Hs256TokenVerifier, MAX_TOKEN_LENGTH, TokenRejectedError } from './access-token';

const SECRET = 'unit-test-secret-that-is-at-least-32-characters';
const NOW = 1_700_000_000;

const config = (overrides: Partial<Hs256JwtConfig> = {}): Hs256JwtConfig => ({
  mode: 'hs256',
  secret: SECRET,
  secretSource: 'environment',
  clockToleranceSeconds: 30,
  maxLifetimeSeconds: 86_400,
  ...overrides,
});

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Any header and payload, HMAC-signed with `hash` (sha256 unless said otherwise). */
function forge(
  claims: unknown,
  header: Record<string, unknown> = { alg: 'HS256', typ: 'JWT' },
  { secret = SECRET, hash = 'sha256' }: { secret?: string; hash?: string } = {},
): string {
  const input = `${b64(header)}.${b64(claims)}`;
  return `${input}.${createHmac(hash, secret).update(input).digest('base64url')}`;
}

const claims = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  token_type: 'access',
  exp: NOW + 3600,
  iat: NOW,
  jti: 'abc',
  user_id: 7,
  ...overrides,
});

function rejection(codec: AccessTokenCodec, token: string, now = NOW): string {
  try {
    codec.verify(token, now);
  } catch (error) {
    expect(error).toBeInstanceOf(TokenRejectedError);
    return (error as Error).message;
  }
  throw new Error('the token was accepted');
}

describe('AccessTokenCodec', () => {
  const codec = new AccessTokenCodec(config());

  describe('sign and verify', () => {
    it('round-trips a SelfCommunity access token', () => {
      const token = codec.sign(7, 3600, NOW);
      const [header] = token.split('.');
      expect(JSON.parse(Buffer.from(header, 'base64url').toString())).toEqual({ alg: 'HS256', typ: 'JWT' });
      expect(codec.verify(token, NOW + 1)).toEqual({
        token_type: 'access',
        user_id: 7,
        iat: NOW,
        exp: NOW + 3600,
        jti: expect.stringMatching(/^[0-9a-f]{32}$/),
      });
    });

    it('gives every token its own jti', () => {
      expect(codec.verify(codec.sign(7, 60, NOW), NOW).jti).not.toBe(codec.verify(codec.sign(7, 60, NOW), NOW).jti);
    });

    it('verifies a token signed elsewhere with the same secret (SelfCommunity format)', () => {
      expect(codec.verify(forge(claims()), NOW).user_id).toBe(7);
    });

    it('adds and checks iss and aud when configured', () => {
      const strict = new AccessTokenCodec(config({ issuer: 'https://issuer', audience: 'api' }));
      const token = strict.sign(9, 60, NOW);
      expect(strict.verify(token, NOW)).toMatchObject({ user_id: 9, iss: 'https://issuer', aud: 'api' });
      // Without configuration, iss and aud are not checked.
      expect(codec.verify(forge(claims({ iss: 'x', aud: 'y' })), NOW).user_id).toBe(7);
    });

    it('accepts iat within the skew and a past nbf', () => {
      expect(codec.verify(forge(claims({ iat: NOW + 29 })), NOW).user_id).toBe(7);
      expect(codec.verify(forge(claims({ nbf: NOW - 10 })), NOW).user_id).toBe(7);
    });

    it('refuses a token from the second it expires (no skew on exp)', () => {
      const token = forge(claims({ exp: NOW }));
      expect(codec.verify(token, NOW - 1).user_id).toBe(7);
      expect(rejection(codec, token, NOW)).toMatch(/expired/);
      expect(rejection(codec, token, NOW + 1)).toMatch(/expired/);
    });

    it('Hs256TokenVerifier answers the user id', () => {
      expect(new Hs256TokenVerifier(codec).verify(codec.sign(42, 60))).toBe(42);
    });
  });

  describe('rejections (TokenRejectedError)', () => {
    it('a token longer than MAX_TOKEN_LENGTH, before any parsing', () => {
      const token = forge(claims({ padding: 'x'.repeat(MAX_TOKEN_LENGTH) }));
      expect(rejection(codec, token)).toMatch(/too long/);
    });

    it.each([
      ['garbage', 'garbage'],
      ['two segments', 'a.b'],
      ['four segments', 'a.b.c.d'],
      ['an empty signature', `${b64({ alg: 'HS256' })}.${b64(claims())}.`],
      ['non-base64url characters', 'a+b.c/d.e='],
      ['empty', ''],
    ])('not a compact JWS: %s', (_name, token) => {
      expect(rejection(codec, token)).toMatch(/compact JWS/);
    });

    it.each([
      ['not JSON', `${Buffer.from('{alg').toString('base64url')}.${b64(claims())}.abc`],
      ['a JSON array', `${b64(['HS256'])}.${b64(claims())}.abc`],
      ['JSON null', `${b64(null)}.${b64(claims())}.abc`],
    ])('a header that is %s', (_name, token) => {
      expect(rejection(codec, token)).toMatch(/header/);
    });

    it.each([['none'], ['None'], ['HS512'], ['HS384'], ['RS256'], ['ES256'], ['hs256'], [undefined]])(
      'alg %s, even with a valid HS256 signature',
      (alg) => {
        expect(rejection(codec, forge(claims(), { alg, typ: 'JWT' }))).toMatch(/algorithm/);
      },
    );

    it('alg HS512 correctly signed with SHA-512', () => {
      expect(rejection(codec, forge(claims(), { alg: 'HS512' }, { hash: 'sha512' }))).toMatch(/algorithm/);
    });

    it('a crit header', () => {
      expect(rejection(codec, forge(claims(), { alg: 'HS256', crit: ['exp'] }))).toMatch(/critical/);
    });

    it('a signature made with another secret', () => {
      const token = forge(claims(), undefined, { secret: 'another-secret-that-is-also-32-characters' });
      expect(rejection(codec, token)).toMatch(/signature/);
    });

    it('a valid signature over a tampered payload', () => {
      const [header, , signature] = forge(claims()).split('.');
      expect(rejection(codec, `${header}.${b64(claims({ user_id: 1 }))}.${signature}`)).toMatch(/signature/);
    });

    it('a truncated signature', () => {
      expect(rejection(codec, forge(claims()).slice(0, -2))).toMatch(/signature/);
    });

    it.each([
      ['a JSON array', [claims()]],
      ['a string', 'claims'],
    ])('a payload that is %s', (_name, payload) => {
      expect(rejection(codec, forge(payload))).toMatch(/payload/);
    });

    it.each([
      ['exp missing', { exp: undefined }, /expiry/],
      ['exp as a string', { exp: String(NOW + 3600) }, /expiry/],
      ['exp in the past', { exp: NOW - 3600 }, /expired/],
      ['iat missing', { iat: undefined }, /issue time/],
      ['iat as a string', { iat: String(NOW) }, /issue time/],
      ['iat beyond the skew', { iat: NOW + 31 }, /future/],
      ['iat 10 minutes ahead', { iat: NOW + 600 }, /future/],
      ['nbf in the future', { nbf: NOW + 600 }, /not valid yet/],
      ['nbf as a string', { nbf: String(NOW) }, /not valid yet/],
      ["token_type 'refresh'", { token_type: 'refresh' }, /access token/],
      ['token_type missing', { token_type: undefined }, /access token/],
      ['user_id missing', { user_id: undefined }, /user_id/],
      ['user_id 0', { user_id: 0 }, /user_id/],
      ['user_id -1', { user_id: -1 }, /user_id/],
      ["user_id '7'", { user_id: '7' }, /user_id/],
      ['user_id 1.5', { user_id: 1.5 }, /user_id/],
      ['user_id 2147483648', { user_id: 2_147_483_648 }, /user_id/],
    ])('%s', (_name, overrides, message) => {
      expect(rejection(codec, forge(claims(overrides)))).toMatch(message);
    });

    describe('with JWT_ISSUER and JWT_AUDIENCE configured', () => {
      const strict = new AccessTokenCodec(config({ issuer: 'https://issuer', audience: 'api' }));

      it.each([
        ['iss missing', { aud: 'api' }, /issuer/],
        ['iss wrong', { iss: 'https://evil', aud: 'api' }, /issuer/],
        ['aud missing', { iss: 'https://issuer' }, /audience/],
        ['aud wrong', { iss: 'https://issuer', aud: 'web' }, /audience/],
        ['aud an array without it', { iss: 'https://issuer', aud: ['web', 'app'] }, /audience/],
      ])('%s', (_name, overrides, message) => {
        expect(rejection(strict, forge(claims(overrides)))).toMatch(message);
      });

      it('accepts aud as an array that contains it', () => {
        expect(strict.verify(forge(claims({ iss: 'https://issuer', aud: ['web', 'api'] })), NOW).user_id).toBe(7);
      });
    });
  });
});
