import { createHmac, generateKeyPairSync } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { TEST_JWT_SECRET } from '../support/create-test-app';
import { accessProbe, arrange, expectNoChange, Fixture, rawRequest } from '../support/access-control';
import { diff, snapshot } from '../support/db-snapshot';
import { request } from '../support/http';
import { problems } from '../support/problem';
import { accessClaims, signToken, tokenFor } from '../support/tokens';
import { useTestApp } from '../support/use-test-app';

/** OWASP API2 broken authentication: forged, expired, truncated and misplaced tokens. */
describe('access control: the API as an attacker would try it', () => {
  const t = useTestApp();
  const f = t.f;
  const { expectRefused } = accessProbe(t);
  let fx: Fixture;
  beforeEach(async () => {
    fx = await arrange(f);
  });

  describe('API2 broken authentication: tokens', () => {
    const now = (): number => Math.floor(Date.now() / 1000);
    const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

    /** Every forged token is refused on a closed route, a write, and an optional-auth route alike. */
    async function expectTokenRefused(token: string, detail?: RegExp): Promise<void> {
      await expectRefused('GET', '/api/v2/user/me/', { token }, problems.notAuthenticated(detail));
      await expectRefused(
        'DELETE',
        `/api/v2/user/${fx.target.id}/provider/`,
        { token, body: fx.priv },
        problems.notAuthenticated(),
      );
      await expectRefused('GET', `/api/v2/user/${fx.target.id}/provider/`, { token }, problems.notAuthenticated());
    }

    const CASES: [string, (fx: Fixture) => string, RegExp][] = [
      [
        'forged: signed with another secret',
        (fx) => signToken(accessClaims(fx.target.id), undefined, `${TEST_JWT_SECRET}x`),
        /signature/,
      ],
      [
        'forged: claims edited after signing',
        (fx) => {
          const [h, , s] = tokenFor(fx.users.other.id).split('.');
          return `${h}.${b64(accessClaims(fx.target.id))}.${s}`;
        },
        /signature/,
      ],
      ['expired', (fx) => signToken(accessClaims(fx.target.id, { iat: now() - 7200, exp: now() - 3600 })), /expired/],
      [
        'expired just beyond the 30 s skew',
        (fx) => signToken(accessClaims(fx.target.id, { iat: now() - 100, exp: now() - 31 })),
        /expired/,
      ],
      ['without exp', (fx) => signToken(accessClaims(fx.target.id, { exp: undefined })), /expiry/],
      ['exp as a string', (fx) => signToken(accessClaims(fx.target.id, { exp: String(now() + 3600) })), /expiry/],
      ['not yet valid (nbf)', (fx) => signToken(accessClaims(fx.target.id, { nbf: now() + 600 })), /not valid yet/],
      [
        'issued in the future',
        (fx) => signToken(accessClaims(fx.target.id, { iat: now() + 600, exp: now() + 4200 })),
        /future/,
      ],
      ['without iat', (fx) => signToken(accessClaims(fx.target.id, { iat: undefined })), /issue time/],
      ['wrong type: refresh', (fx) => signToken(accessClaims(fx.target.id, { token_type: 'refresh' })), /access token/],
      [
        'wrong type: none given',
        (fx) => signToken(accessClaims(fx.target.id, { token_type: undefined })),
        /access token/,
      ],
      [
        'user_id as a string',
        (fx) => signToken(accessClaims(fx.target.id, { user_id: String(fx.target.id) })),
        /user_id/,
      ],
      ['user_id beyond int32', () => signToken(accessClaims(0, { user_id: 2 ** 31 })), /user_id/],
      ['user_id fractional', (fx) => signToken(accessClaims(fx.target.id, { user_id: fx.target.id + 0.5 })), /user_id/],
      [
        'user_id missing, sub given',
        (fx) => signToken(accessClaims(fx.target.id, { user_id: undefined, sub: String(fx.target.id) })),
        /user_id/,
      ],
      [
        'alg none, no signature',
        (fx) => signToken(accessClaims(fx.target.id), { alg: 'none', typ: 'JWT' }),
        /algorithm|JWS/,
      ],
      [
        'alg none, with a signature',
        (fx) => {
          const input = `${b64({ alg: 'none' })}.${b64(accessClaims(fx.target.id))}`;
          return `${input}.${createHmac('sha256', TEST_JWT_SECRET).update(input).digest('base64url')}`;
        },
        /algorithm/,
      ],
      [
        'alg NONE',
        (fx) => {
          const input = `${b64({ alg: 'NONE' })}.${b64(accessClaims(fx.target.id))}`;
          return `${input}.${createHmac('sha256', TEST_JWT_SECRET).update(input).digest('base64url')}`;
        },
        /algorithm/,
      ],
      [
        'alg HS512 with the right secret',
        (fx) => {
          const input = `${b64({ alg: 'HS512', typ: 'JWT' })}.${b64(accessClaims(fx.target.id))}`;
          return `${input}.${createHmac('sha512', TEST_JWT_SECRET).update(input).digest('base64url')}`;
        },
        /algorithm/,
      ],
      [
        'alg RS256 header over an HS256 signature',
        (fx) => signToken(accessClaims(fx.target.id), { alg: 'RS256', typ: 'JWT' }),
        /algorithm/,
      ],
      [
        'HS256 signed with a public key as the secret',
        (fx) => signToken(accessClaims(fx.target.id), undefined, PUBLIC_KEY_PEM),
        /signature/,
      ],
      [
        'alg RS256 header, HMAC keyed with a public key',
        (fx) => signToken(accessClaims(fx.target.id), { alg: 'RS256' }, PUBLIC_KEY_PEM),
        /algorithm/,
      ],
      [
        'crit header',
        (fx) => signToken(accessClaims(fx.target.id), { alg: 'HS256', crit: ['b64'], b64: false }),
        /critical/,
      ],
      ['truncated: last character cut', (fx) => tokenFor(fx.target.id).slice(0, -1), /signature/],
      ['truncated: signature cut', (fx) => tokenFor(fx.target.id).split('.').slice(0, 2).join('.') + '.', /JWS/],
      ['truncated: two segments', (fx) => tokenFor(fx.target.id).split('.').slice(0, 2).join('.'), /JWS/],
      ['truncated: half a token', (fx) => tokenFor(fx.target.id).slice(0, 60), /JWS/],
      ['extra segment', (fx) => `${tokenFor(fx.target.id)}.AAAA`, /JWS/],
      ['padding characters', (fx) => `${tokenFor(fx.target.id)}==`, /JWS/],
      [
        'oversized: 4 KiB of claims',
        (fx) => signToken(accessClaims(fx.target.id, { pad: 'x'.repeat(4096) })),
        /too long/,
      ],
      [
        'header not JSON',
        (fx) => `${Buffer.from('{alg').toString('base64url')}.${tokenFor(fx.target.id).split('.')[1]}.AAAA`,
        /JSON/,
      ],
      ['payload an array', () => signToken([1] as unknown as Record<string, unknown>), /JSON object/],
      ['garbage', () => 'x'.repeat(40), /JWS/],
    ];

    it.each(CASES)('401 for a token that is %s', async (_name, make, detail) => {
      await expectTokenRefused(make(fx), detail);
    });

    it('a valid token for each of those checks is accepted (the refusals are not accidental)', async () => {
      const response = await request(t.baseUrl, 'GET', '/api/v2/user/me/', { token: fx.token('self') });
      expect(response.status).toBe(200);
      const skewed = signToken(accessClaims(fx.target.id, { iat: now() + 20, nbf: now() + 20 }));
      expect((await request(t.baseUrl, 'GET', '/api/v2/user/me/', { token: skewed })).status).toBe(200);
    });

    it('a header too large for the server is a 431, not a 5xx, and changes nothing', async () => {
      const before = await snapshot(t.dataSource);
      const status = await rawRequest(
        t.baseUrl,
        'DELETE',
        `/api/v2/user/${fx.target.id}/provider/`,
        'x'.repeat(20_000),
        JSON.stringify(fx.priv),
      );
      expect(status).toBe(431);
      expectNoChange(diff(before, await snapshot(t.dataSource)));
    });

    it.each([
      ['no scheme', (token: string) => token],
      ['Basic scheme', (token: string) => `Basic ${token}`],
      ['Bearer without a token', () => 'Bearer'],
      ['Bearer with an empty token', () => 'Bearer '],
      ['two tokens', (token: string) => `Bearer ${token}, Bearer ${token}`],
      ['Token scheme', (token: string) => `Token ${token}`],
      ['JWT scheme', (token: string) => `JWT ${token}`],
    ])('401 for an Authorization header with %s', async (_name, header) => {
      await expectRefused(
        'GET',
        '/api/v2/user/me/',
        { headers: { authorization: header(fx.token('self')!) } },
        problems.notAuthenticated(),
      );
      await expectRefused(
        'DELETE',
        `/api/v2/user/${fx.target.id}/provider/`,
        { headers: { authorization: header(fx.token('self')!) }, body: fx.priv },
        problems.notAuthenticated(),
      );
    });

    it('tokens are read from the Authorization header only (not the query string, a cookie or another header)', async () => {
      const token = fx.token('self')!;
      await expectRefused('GET', `/api/v2/user/me/?access_token=${token}`, {}, problems.notAuthenticated());
      await expectRefused(
        'GET',
        '/api/v2/user/me/',
        { headers: { cookie: `access_token=${token}; jwt=${token}` } },
        problems.notAuthenticated(),
      );
      await expectRefused(
        'GET',
        '/api/v2/user/me/',
        { headers: { 'x-access-token': token, 'x-auth-token': token } },
        problems.notAuthenticated(),
      );
      await expectRefused(
        'DELETE',
        `/api/v2/user/${fx.target.id}/provider/`,
        { body: { ...fx.priv, access_token: token } },
        problems.notAuthenticated(),
      );
    });

    it('a token of a deleted user stays refused after a new user is created', async () => {
      const token = tokenFor(fx.deletedId);
      await f.makeUser();
      await expectRefused(
        'GET',
        '/api/v2/user/me/',
        { token },
        problems.notAuthenticated(/does not exist or is inactive/),
      );
    });
  });
});

const PUBLIC_KEY_PEM = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({
  type: 'spki',
  format: 'pem',
}) as string;
