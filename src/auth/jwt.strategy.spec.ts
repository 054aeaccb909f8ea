import { createHmac } from 'node:crypto';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { UnauthorizedException } from '@nestjs/common';
import { CryptoKey, exportJWK, exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { AppConfig, Hs256JwtConfig, JwksJwtConfig } from '../config/app-config';
import { UsersService } from '../users/users.service';
import {
  JwtStrategy,
  KeySetUnavailableError,
  MAX_JWKS_TOKEN_LENGTH,
  MAX_TOKEN_LENGTH,
  rejectionReason,
  timeClaimsProblem,
  userIdFromClaim,
  userIdFromNumber,
} from './jwt.strategy';

const SECRET = 'unit-test-secret-that-is-at-least-32-characters';
const NOW = 1_700_000_000;

const hs256 = (overrides: Partial<Hs256JwtConfig> = {}): Hs256JwtConfig => ({
  mode: 'hs256',
  secret: SECRET,
  secretSource: 'environment',
  clockToleranceSeconds: 30,
  maxLifetimeSeconds: 86_400,
  ...overrides,
});

/** Every user exists and is active, except user 13 (inactive). */
const users = {
  findSignInState: (id: number) => Promise.resolve({ id, role: null, isActive: id !== 13, hasUsablePassword: true }),
} as unknown as UsersService;

const strategyFor = (jwt: AppConfig['jwt']): JwtStrategy => new JwtStrategy({ jwt } as AppConfig, users);

/**
 * Runs the strategy the way JwtAuthGuard does (passport's protocol) and names the
 * outcome: `user 7`, the reason of a refusal, `no token`, or `unavailable` (503).
 */
function verdict(strategy: JwtStrategy, token: string | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    const attempt = Object.create(strategy) as JwtStrategy & {
      success(user: { id: number }): void;
      fail(info: unknown): void;
      error(error: unknown): void;
    };
    attempt.success = (user) => resolve(`user ${user.id}`);
    attempt.fail = (info) =>
      resolve(info instanceof KeySetUnavailableError ? 'unavailable' : (rejectionReason(info) ?? 'no token'));
    attempt.error = (error) =>
      error instanceof UnauthorizedException
        ? resolve(error.message.replace(/^Invalid token: /, ''))
        : reject(error instanceof Error ? error : new Error(String(error)));
    const request = { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } };
    attempt.authenticate(request as never, {});
  });
}

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

/** The clock (Date only: jsonwebtoken and the claim rules read Date.now) at `seconds`. */
const setClock = (seconds: number): void => {
  vi.setSystemTime(seconds * 1000);
};

describe('JwtStrategy, shared-secret mode (HS256, jsonwebtoken)', () => {
  const strategy = strategyFor(hs256());
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    setClock(NOW);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  describe('accepted', () => {
    it('a SelfCommunity access token: the caller is loaded from the database', async () => {
      expect(await verdict(strategy, forge(claims()))).toBe('user 7');
    });

    it('iss and aud, unchecked unless configured; checked when they are', async () => {
      expect(await verdict(strategy, forge(claims({ iss: 'x', aud: 'y' })))).toBe('user 7');
      const strict = strategyFor(hs256({ issuer: 'https://issuer', audience: 'api' }));
      expect(await verdict(strict, forge(claims({ iss: 'https://issuer', aud: 'api' })))).toBe('user 7');
      expect(await verdict(strict, forge(claims({ iss: 'https://issuer', aud: ['web', 'api'] })))).toBe('user 7');
    });

    it('iat and nbf within the skew, and a past nbf', async () => {
      expect(await verdict(strategy, forge(claims({ iat: NOW + 29 })))).toBe('user 7');
      expect(await verdict(strategy, forge(claims({ iat: NOW + 30, nbf: NOW + 30 })))).toBe('user 7');
      expect(await verdict(strategy, forge(claims({ nbf: NOW - 10 })))).toBe('user 7');
    });

    it('a token living exactly the maximum lifetime', async () => {
      expect(await verdict(strategy, forge(claims({ exp: NOW + 86_400 })))).toBe('user 7');
    });
  });

  describe('refused', () => {
    it('no token', async () => {
      expect(await verdict(strategy, undefined)).toBe('no token');
    });

    it('an inactive user (401 from validate)', async () => {
      expect(await verdict(strategy, forge(claims({ user_id: 13 })))).toMatch(/does not exist or is inactive/);
    });

    it('from the second it expires (no skew on exp)', async () => {
      const token = forge(claims({ exp: NOW + 60 }));
      setClock(NOW + 59);
      expect(await verdict(strategy, token)).toBe('user 7');
      setClock(NOW + 60);
      expect(await verdict(strategy, token)).toMatch(/expired/);
    });

    it('a token longer than MAX_TOKEN_LENGTH, before any parsing', async () => {
      expect(await verdict(strategy, forge(claims({ padding: 'x'.repeat(MAX_TOKEN_LENGTH) })))).toMatch(/too long/);
    });

    it.each([
      ['two segments', 'a.b'],
      ['four segments', 'a.b.c.d'],
      ['an empty signature', `${b64({ alg: 'HS256' })}.${b64(claims())}.`],
      ['non-base64url characters', 'a+b.c/d.e='],
      ['garbage', 'x'.repeat(40)],
    ])('not a compact JWS: %s', async (_name, token) => {
      expect(await verdict(strategy, token)).toMatch(/compact JWS/);
    });

    it('a header that is not JSON', async () => {
      const token = `${Buffer.from('{alg').toString('base64url')}.${b64(claims())}.abc`;
      expect(await verdict(strategy, token)).toMatch(/header is not valid JSON/);
    });

    it.each([['none'], ['None'], ['HS512'], ['HS384'], ['RS256'], ['ES256'], ['hs256'], [undefined]])(
      'alg %s, even with a valid HS256 signature',
      async (alg) => {
        expect(await verdict(strategy, forge(claims(), { alg, typ: 'JWT' }))).toMatch(/algorithm/);
      },
    );

    it('alg HS512 correctly signed with SHA-512', async () => {
      expect(await verdict(strategy, forge(claims(), { alg: 'HS512' }, { hash: 'sha512' }))).toMatch(/algorithm/);
    });

    it('a crit header', async () => {
      expect(await verdict(strategy, forge(claims(), { alg: 'HS256', crit: ['exp'] }))).toMatch(/critical/);
    });

    it('a signature made with another secret, over a tampered payload, or truncated', async () => {
      const other = forge(claims(), undefined, { secret: 'another-secret-that-is-also-32-characters' });
      expect(await verdict(strategy, other)).toMatch(/signature is invalid/);
      const [header, , signature] = forge(claims()).split('.');
      expect(await verdict(strategy, `${header}.${b64(claims({ user_id: 1 }))}.${signature}`)).toMatch(/signature/);
      expect(await verdict(strategy, forge(claims()).slice(0, -2))).toMatch(/signature/);
    });

    it.each([
      ['a JSON array', [claims()]],
      ['a string', 'claims'],
      ['JSON null', null],
    ])('a payload that is %s', async (_name, payload) => {
      expect(await verdict(strategy, forge(payload))).toMatch(/payload|malformed/);
    });

    it.each([
      ['exp missing', { exp: undefined }, /expiry/],
      ['exp as a string', { exp: String(NOW + 3600) }, /expiry/],
      ['exp in the past', { exp: NOW - 3600 }, /expired/],
      ['iat missing', { iat: undefined }, /issue time/],
      ['iat as a string', { iat: String(NOW) }, /issue time/],
      ['iat beyond the skew', { iat: NOW + 31 }, /future/],
      ['nbf in the future', { nbf: NOW + 600 }, /not valid yet/],
      ['nbf as a string', { nbf: String(NOW) }, /not valid yet/],
      ['a lifetime a second over the maximum', { exp: NOW + 86_401 }, /lives longer/],
      ['exp: 1e308', { exp: 1e308 }, /lives longer/],
      ["token_type 'refresh'", { token_type: 'refresh' }, /access token/],
      ['token_type missing', { token_type: undefined }, /access token/],
      ['user_id missing', { user_id: undefined }, /user_id/],
      ['user_id 0', { user_id: 0 }, /user_id/],
      ["user_id '7'", { user_id: '7' }, /user_id/],
      ['user_id 1.5', { user_id: 1.5 }, /user_id/],
      ['user_id 2147483648', { user_id: 2_147_483_648 }, /user_id/],
    ])('%s', async (_name, overrides, reason) => {
      expect(await verdict(strategy, forge(claims(overrides)))).toMatch(reason);
    });

    it.each([
      ['iss missing', { aud: 'api' }, /issuer/],
      ['iss wrong', { iss: 'https://evil', aud: 'api' }, /issuer/],
      ['aud missing', { iss: 'https://issuer' }, /audience/],
      ['aud wrong', { iss: 'https://issuer', aud: 'web' }, /audience/],
      ['aud an array without it', { iss: 'https://issuer', aud: ['web', 'app'] }, /audience/],
    ])('with JWT_ISSUER and JWT_AUDIENCE configured: %s', async (_name, overrides, reason) => {
      const strict = strategyFor(hs256({ issuer: 'https://issuer', audience: 'api' }));
      expect(await verdict(strict, forge(claims(overrides)))).toMatch(reason);
    });
  });
});

/** An identity provider's key endpoint on 127.0.0.1 that counts fetches and can fail. */
class KeyEndpoint {
  keys: object[] = [];
  failing = false;
  fetches = 0;
  private readonly server: Server = createServer((_request, response) => {
    this.fetches += 1;
    if (this.failing) response.writeHead(500).end('down');
    else response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: this.keys }));
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/jwks`;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

describe('JwtStrategy, JWKS mode (jose key set, jsonwebtoken)', () => {
  const endpoint = new KeyEndpoint();
  let config: JwksJwtConfig;
  let rsaPrivate: CryptoKey;
  let rsaPem: string;
  let ecPrivate: CryptoKey;
  const now = (): number => Math.floor(Date.now() / 1000);
  const idpClaims = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
    iss: 'https://idp.test/',
    aud: 'api',
    iat: now(),
    exp: now() + 300,
    user_id: 7,
    ...overrides,
  });
  const rs256 = (payload: Record<string, unknown>): Promise<string> =>
    new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid: 'rsa' }).sign(rsaPrivate);
  const es256 = (payload: Record<string, unknown>): Promise<string> =>
    new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid: 'ec' }).sign(ecPrivate);

  beforeAll(async () => {
    const rsa = await generateKeyPair('RS256', { extractable: true });
    const ec = await generateKeyPair('ES256', { extractable: true });
    rsaPrivate = rsa.privateKey;
    ecPrivate = ec.privateKey;
    rsaPem = await exportSPKI(rsa.publicKey);
    endpoint.keys = [
      { ...(await exportJWK(rsa.publicKey)), kid: 'rsa', alg: 'RS256' },
      { ...(await exportJWK(ec.publicKey)), kid: 'ec', alg: 'ES256' },
    ];
    config = {
      mode: 'jwks',
      jwksUri: await endpoint.start(),
      issuer: 'https://idp.test/',
      audience: 'api',
      algorithms: ['RS256', 'ES256'],
      userIdClaim: 'user_id',
      clockToleranceSeconds: 30,
      maxLifetimeSeconds: 86_400,
    };
  });
  afterAll(() => endpoint.stop());
  beforeEach(() => {
    endpoint.failing = false;
    endpoint.fetches = 0;
  });

  it('accepts valid RS256 and ES256 tokens, fetching the key set once', async () => {
    const strategy = strategyFor(config);
    expect(await verdict(strategy, await rs256(idpClaims()))).toBe('user 7');
    expect(await verdict(strategy, await es256(idpClaims({ user_id: 8 })))).toBe('user 8');
    expect(await verdict(strategy, await rs256(idpClaims()))).toBe('user 7');
    expect(endpoint.fetches).toBe(1);
  });

  it('reads the configured claim, as a number or a canonical decimal string', async () => {
    const strategy = strategyFor({ ...config, userIdClaim: 'sub' });
    expect(await verdict(strategy, await rs256(idpClaims({ sub: '42' })))).toBe('user 42');
    expect(await verdict(strategy, await rs256(idpClaims({ sub: 'f81d4fae-7dec' })))).toMatch(/no valid sub/);
    expect(await verdict(strategy, await rs256(idpClaims()))).toMatch(/no valid sub/);
  });

  it('accepts token_type access or none, refuses any other', async () => {
    const strategy = strategyFor(config);
    expect(await verdict(strategy, await rs256(idpClaims({ token_type: 'access' })))).toBe('user 7');
    expect(await verdict(strategy, await rs256(idpClaims({ token_type: 'refresh' })))).toMatch(/not an access token/);
  });

  it('refuses algorithms outside the configuration without asking for a key', async () => {
    const strategy = strategyFor({ ...config, algorithms: ['ES256'] });
    expect(await verdict(strategy, await rs256(idpClaims()))).toMatch(/algorithm is not accepted/);
    const input = `${b64({ alg: 'HS256', kid: 'rsa' })}.${b64(idpClaims())}`;
    const hs256Token = `${input}.${createHmac('sha256', rsaPem).update(input).digest('base64url')}`;
    expect(await verdict(strategy, hs256Token)).toMatch(/algorithm is not accepted/);
    expect(await verdict(strategy, `${b64({ alg: 'none' })}.${b64(idpClaims())}.AAAA`)).toMatch(/algorithm/);
    expect(endpoint.fetches).toBe(0);
  });

  it('refuses a signature by another key under a published kid, and an unknown kid', async () => {
    const strategy = strategyFor(config);
    const attacker = await generateKeyPair('RS256');
    const forged = await new SignJWT(idpClaims())
      .setProtectedHeader({ alg: 'RS256', kid: 'rsa' })
      .sign(attacker.privateKey);
    expect(await verdict(strategy, forged)).toMatch(/signature is invalid/);
    const unknown = await new SignJWT(idpClaims()).setProtectedHeader({ alg: 'RS256', kid: 'x' }).sign(rsaPrivate);
    expect(await verdict(strategy, unknown)).toMatch(/key is not known/);
  });

  it('applies the same time rules as HS256 tokens, and checks iss and aud', async () => {
    const strategy = strategyFor(config);
    expect(await verdict(strategy, await rs256(idpClaims({ iat: now() + 120 })))).toMatch(/future/);
    const { iat: _iat, ...withoutIat } = idpClaims();
    expect(await verdict(strategy, await rs256(withoutIat))).toMatch(/issue time/);
    expect(await verdict(strategy, await rs256(idpClaims({ exp: now() - 1 })))).toMatch(/expired/);
    expect(await verdict(strategy, await rs256(idpClaims({ iss: 'https://evil/' })))).toMatch(/issuer/);
    expect(await verdict(strategy, await rs256(idpClaims({ aud: 'other' })))).toMatch(/audience/);
  });

  it('a key set that cannot be fetched is "unavailable" (503), not a verdict on the token', async () => {
    endpoint.failing = true;
    expect(await verdict(strategyFor(config), await rs256(idpClaims()))).toBe('unavailable');
  });

  it('refuses tokens longer than the limit before parsing them', async () => {
    expect(await verdict(strategyFor(config), 'a'.repeat(MAX_JWKS_TOKEN_LENGTH + 1))).toMatch(/too long/);
    expect(endpoint.fetches).toBe(0);
  });
});

describe('timeClaimsProblem', () => {
  const SKEW = 30;
  const DAY = 86_400;
  const RULES = { clockToleranceSeconds: SKEW, maxLifetimeSeconds: DAY };
  const valid = { iat: NOW - 10, exp: NOW + 3600 };

  it('accepts a current token, one within the skew on iat and nbf, one living exactly the maximum', () => {
    expect(timeClaimsProblem(valid, NOW, RULES)).toBeUndefined();
    expect(timeClaimsProblem({ iat: NOW + SKEW, exp: NOW + 1, nbf: NOW + SKEW }, NOW, RULES)).toBeUndefined();
    expect(timeClaimsProblem({ iat: NOW - 10, exp: NOW - 10 + DAY }, NOW, RULES)).toBeUndefined();
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
    expect(timeClaimsProblem(claims, NOW, RULES)).toMatch(reason);
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
