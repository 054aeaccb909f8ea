import { createHmac, createSign, KeyObject, randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { JWKS_FETCH } from '../../src/auth/jwks-token-verifier';
import { TEST_JWT_SECRET } from '../support/create-test-app';
import { request, TestResponse } from '../support/http';
import { expectProblem, problems } from '../support/problem';
import { accessClaims, signToken } from '../support/tokens';
import {
  ISSUER,
  AUDIENCE,
  SigningKey,
  makeKey,
  JwksMode,
  JwksServer,
  advanceClock,
  nowSeconds,
  idpClaims,
  drop,
  sign,
  b64,
} from '../support/jwks';
import { useTestApp } from '../support/use-test-app';

describe('JWKS mode (JWKS_URI): identity provider tokens verified against a live key set', () => {
  const jwks = new JwksServer();
  let rsa: SigningKey;
  let ec: SigningKey;
  let userId: number;
  beforeAll(async () => {
    await jwks.start();
    [rsa, ec] = await Promise.all([makeKey('RS256'), makeKey('ES256')]);
  });
  afterAll(() => jwks.stop());
  // After the key server's hooks: the app is configured with its URL, and closed before it stops.
  const t = useTestApp(() => ({ JWKS_URI: `${jwks.url}/jwks`, JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE }));
  const f = t.f;

  const me = (token: string | undefined): Promise<TestResponse> =>
    request(t.baseUrl, 'GET', '/api/v2/user/me/', { token });

  async function expectAccepted(token: string): Promise<void> {
    const response = await me(token);
    expect(response.status, response.text).toBe(200);
    expect(response.body.id).toBe(userId);
  }

  async function expectRejected(token: string, detail?: RegExp): Promise<void> {
    const response = await me(token);
    expectProblem(response, problems.notAuthenticated(detail));
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
  }

  beforeEach(async () => {
    vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
    advanceClock(JWKS_FETCH.cacheMaxAgeMs + 1000);
    jwks.keys = [rsa, ec];
    jwks.mode = 'ok';
    jwks.fetches = 0;
    jwks.strayRequests = 0;
    userId = (await f.makeUser()).id;
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  describe('accepted', () => {
    it('200 for a valid RS256 token', async () => {
      await expectAccepted(await sign(rsa, idpClaims(userId)));
    });

    it('200 for a valid ES256 token', async () => {
      await expectAccepted(await sign(ec, idpClaims(userId)));
    });

    it('200 without token_type (identity providers send none) and with token_type access', async () => {
      await expectAccepted(await sign(rsa, idpClaims(userId)));
      await expectAccepted(await sign(rsa, idpClaims(userId, { token_type: 'access' })));
    });

    it('200 when the user id claim is a canonical decimal string, and when aud is an array naming us', async () => {
      await expectAccepted(await sign(rsa, idpClaims(userId, { user_id: String(userId) })));
      await expectAccepted(await sign(rsa, idpClaims(userId, { aud: ['account', AUDIENCE] })));
    });

    it('a JWKS token works on the routes: the user deletes their own association (204)', async () => {
      await f.link(userId, { provider: 'keycloak', ext_id: 'kc-1' });
      const response = await request(t.baseUrl, 'DELETE', `/api/v2/user/${userId}/provider/`, {
        token: await sign(ec, idpClaims(userId)),
        body: { provider: 'keycloak', ext_id: 'kc-1' },
      });
      expect(response.status, response.text).toBe(204);
      expect(await f.countAssociations(userId)).toBe(0);
    });
  });

  describe('key set fetching and caching', () => {
    it('fetches the key set once and serves later requests from the cache', async () => {
      for (let i = 0; i < 5; i += 1) await expectAccepted(await sign(i % 2 ? rsa : ec, idpClaims(userId)));
      expect(jwks.fetches).toBe(1);
    });

    it('refetches on an unknown kid after the cooldown: a rotated-in key is accepted, a rotated-out key refused', async () => {
      await expectAccepted(await sign(rsa, idpClaims(userId)));
      expect(jwks.fetches).toBe(1);

      const rotated = await makeKey('RS256');
      jwks.keys = [rotated, ec];
      // Within the cooldown an unknown kid does not reach the provider.
      await expectRejected(await sign(rotated, idpClaims(userId)), /key is not known/);
      expect(jwks.fetches).toBe(1);

      advanceClock(JWKS_FETCH.cooldownMs + 1000);
      await expectAccepted(await sign(rotated, idpClaims(userId)));
      expect(jwks.fetches).toBe(2);
      // The old key left the set with that refetch: its tokens are no longer trusted.
      await expectRejected(await sign(rsa, idpClaims(userId)), /key is not known/);
      expect(jwks.fetches).toBe(2);
    });

    it('a flood of tokens with random kids causes no fetch within the cooldown', async () => {
      await expectAccepted(await sign(rsa, idpClaims(userId)));
      const stranger = await makeKey('RS256');
      for (let i = 0; i < 20; i += 1) {
        await expectRejected(await sign({ ...stranger, kid: randomUUID() }, idpClaims(userId)));
      }
      expect(jwks.fetches).toBe(1);
    });

    it('refetches when the cached key set is older than the maximum cache age', async () => {
      await expectAccepted(await sign(rsa, idpClaims(userId)));
      advanceClock(JWKS_FETCH.cacheMaxAgeMs + 1000);
      await expectAccepted(await sign(rsa, idpClaims(userId)));
      expect(jwks.fetches).toBe(2);
    });
  });

  describe('key set unavailable: 503 with Retry-After, never 500, never a hang', () => {
    async function expectUnavailable(token: string): Promise<void> {
      const started = performance.now();
      const response = await me(token);
      expect(performance.now() - started).toBeLessThan(JWKS_FETCH.timeoutMs + 2000);
      expectProblem(response, problems.serviceUnavailable(/identity provider keys/));
      expect(response.headers.get('retry-after')).toBe('5');
    }

    it.each<JwksMode>(['refuse', 'error', 'garbage', 'not-a-jwks', 'hang'])(
      '503 when the key endpoint answers "%s"',
      async (mode) => {
        jwks.mode = mode;
        await expectUnavailable(await sign(rsa, idpClaims(userId)));
        expect(jwks.fetches).toBe(1);
      },
    );

    it('cached keys keep working while the provider is down; an unknown kid or an expired cache is a 503', async () => {
      await expectAccepted(await sign(rsa, idpClaims(userId)));
      jwks.mode = 'refuse';
      await expectAccepted(await sign(ec, idpClaims(userId)));
      expect(jwks.fetches).toBe(1);

      advanceClock(JWKS_FETCH.cooldownMs + 1000);
      const unknown = await makeKey('RS256');
      await expectUnavailable(await sign(unknown, idpClaims(userId)));

      advanceClock(JWKS_FETCH.cacheMaxAgeMs);
      await expectUnavailable(await sign(rsa, idpClaims(userId)));

      jwks.mode = 'ok';
      await expectAccepted(await sign(rsa, idpClaims(userId)));
    });

    it('a token refused before any key is needed stays a 401 while the provider is down', async () => {
      jwks.mode = 'refuse';
      await expectRejected(signToken(accessClaims(userId)), /algorithm/);
      await expectRejected('not-a-token');
      expect(jwks.fetches).toBe(0);
    });
  });

  describe('algorithm confusion: only the configured asymmetric algorithms', () => {
    it('401 for HS256 signed with the RSA public key (PEM) as the HMAC secret, without fetching keys', async () => {
      const input = `${b64({ alg: 'HS256', typ: 'JWT', kid: rsa.kid })}.${b64(idpClaims(userId))}`;
      for (const secret of [rsa.pem, rsa.pem.trim(), JSON.stringify(rsa.jwk)]) {
        await expectRejected(`${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`, /algorithm/);
      }
      expect(jwks.fetches).toBe(0);
    });

    it('401 for an HS256 token signed with the shared secret of the other mode', async () => {
      await expectRejected(signToken(accessClaims(userId)), /algorithm/);
      await expectRejected(signToken(idpClaims(userId), { alg: 'HS256', typ: 'JWT' }, TEST_JWT_SECRET), /algorithm/);
    });

    it.each(['none', 'None', 'NONE', 'nOnE'])('401 for alg %s, with and without a signature', async (alg) => {
      const input = `${b64({ alg, typ: 'JWT', kid: rsa.kid })}.${b64(idpClaims(userId))}`;
      await expectRejected(`${input}.`);
      await expectRejected(`${input}.${createHmac('sha256', 'x').update(input).digest('base64url')}`);
    });

    it('401 for an algorithm outside JWT_ALGORITHMS (PS256), even with a key the provider publishes', async () => {
      const ps = await makeKey('PS256');
      jwks.keys = [rsa, ec, ps];
      await expectRejected(await sign(ps, idpClaims(userId)), /algorithm/);
    });

    it('401 when header alg and the published key disagree (ES256 header on the RSA kid)', async () => {
      const input = `${b64({ alg: 'ES256', kid: rsa.kid })}.${b64(idpClaims(userId))}`;
      const signed = await sign(ec, idpClaims(userId));
      await expectRejected(`${input}.${signed.split('.')[2]}`);
    });

    it('401 for a token signed by another key under a published kid', async () => {
      const attacker = await makeKey('RS256');
      await expectRejected(await sign({ ...attacker, kid: rsa.kid }, idpClaims(userId)), /signature/);
    });

    it('401 for keys the token brings itself (jwk, jku, x5u headers): they are never trusted or fetched', async () => {
      const attacker = await makeKey('RS256');
      const claims = idpClaims(userId);
      await expectRejected(await sign(attacker, claims, { jwk: attacker.jwk }));
      await expectRejected(await sign({ ...attacker, kid: rsa.kid }, claims, { jwk: attacker.jwk }));
      await expectRejected(await sign(attacker, claims, { jku: `${jwks.url}/attacker.json` }));
      await expectRejected(await sign(attacker, claims, { x5u: `${jwks.url}/attacker.pem` }));
      expect(jwks.strayRequests).toBe(0);
    });

    it('401 for unknown critical headers, on a correctly signed token', async () => {
      const input = `${b64({ alg: 'RS256', kid: rsa.kid, crit: ['exp-x'], 'exp-x': 1 })}.${b64(idpClaims(userId))}`;
      const signature = createSign('sha256').update(input).sign(KeyObject.from(rsa.privateKey), 'base64url');
      await expectRejected(`${input}.${signature}`, /unsupported/);
      const plain = `${b64({ alg: 'RS256', kid: rsa.kid })}.${b64(idpClaims(userId))}`;
      await expectAccepted(
        `${plain}.${createSign('sha256').update(plain).sign(KeyObject.from(rsa.privateKey), 'base64url')}`,
      );
    });
  });

  describe('claims', () => {
    it('401 for the wrong issuer, a missing issuer, the wrong audience and a missing audience', async () => {
      await expectRejected(await sign(rsa, idpClaims(userId, { iss: 'https://evil.test/' })), /issuer/);
      await expectRejected(await sign(rsa, drop(idpClaims(userId), 'iss')), /issuer|iss/);
      await expectRejected(await sign(rsa, idpClaims(userId, { aud: 'another-api' })), /audience/);
      await expectRejected(await sign(rsa, idpClaims(userId, { aud: ['account', 'another-api'] })), /audience/);
      await expectRejected(await sign(rsa, drop(idpClaims(userId), 'aud')), /aud/);
    });

    it('401 for expired, not-yet-valid and future-issued tokens, and for missing exp or iat', async () => {
      const now = nowSeconds();
      await expectRejected(await sign(rsa, idpClaims(userId, { iat: now - 600, exp: now - 60 })), /expired/);
      await expectRejected(await sign(rsa, idpClaims(userId, { nbf: now + 600 })), /not valid yet/);
      await expectRejected(await sign(rsa, idpClaims(userId, { iat: now + 600, exp: now + 900 })), /future/);
      await expectRejected(await sign(rsa, drop(idpClaims(userId), 'exp')), /expiry/);
      await expectRejected(await sign(rsa, drop(idpClaims(userId), 'iat')), /issue time/);
    });

    it('tolerates 30 s of clock skew on iat and nbf, none on exp', async () => {
      const now = nowSeconds();
      await expectAccepted(await sign(rsa, idpClaims(userId, { iat: now + 20, nbf: now + 20 })));
      await expectRejected(await sign(rsa, idpClaims(userId, { iat: now + 60 })));
      await expectRejected(await sign(rsa, idpClaims(userId, { iat: now - 300, exp: now - 2 })));
    });

    it.each(['refresh', 'id', 'Access', ''])('401 for token_type %j', async (tokenType) => {
      await expectRejected(await sign(rsa, idpClaims(userId, { token_type: tokenType })), /access token/);
    });

    it.each<[string, unknown]>([
      ['missing', undefined],
      ['zero', 0],
      ['negative', -1],
      ['fractional', 1.5],
      ['beyond int32', 2 ** 31],
      ['leading zero string', '007'],
      ['exponent string', '1e3'],
      ['padded string', ' 1'],
      ['boolean', true],
      ['array', [1]],
    ])('401 for a user_id that is %s', async (_name, value) => {
      const claims = value === undefined ? drop(idpClaims(userId), 'user_id') : idpClaims(userId, { user_id: value });
      await expectRejected(await sign(rsa, claims), /user_id/);
    });

    it('401 when the user does not exist or is deactivated (read from the database)', async () => {
      await expectRejected(await sign(rsa, idpClaims(userId + 1000)), /does not exist or is inactive/);
      await f.deactivate(userId);
      await expectRejected(await sign(rsa, idpClaims(userId)), /does not exist or is inactive/);
    });
  });

  describe('malformed tokens', () => {
    it('401 for truncated, re-segmented and oversized tokens', async () => {
      const token = await sign(rsa, idpClaims(userId));
      const [header, payload, signature] = token.split('.') as [string, string, string];
      await expectRejected(token.slice(0, -1), /signature|malformed/);
      await expectRejected(token.slice(0, -4), /signature/);
      await expectRejected(`${header}.${payload}`);
      await expectRejected(`${header}.${payload}.`);
      await expectRejected(`${header}..${signature}`);
      await expectRejected(`${header}.${payload}.${signature}.${signature}`);
      await expectRejected(await sign(rsa, idpClaims(userId, { pad: 'x'.repeat(9000) })), /too long/);
    });

    it('401 for a payload that is not a JSON object', async () => {
      for (const payload of ['[]', '"x"', '1', 'null', '{']) {
        const input = `${b64({ alg: 'RS256', kid: rsa.kid })}.${Buffer.from(payload).toString('base64url')}`;
        await expectRejected(`${input}.${'A'.repeat(342)}`);
      }
    });
  });
});

describe('JWKS mode with JWT_USER_ID_CLAIM=sub and JWT_ALGORITHMS=ES256', () => {
  const jwks = new JwksServer();
  let rsa: SigningKey;
  let ec: SigningKey;
  beforeAll(async () => {
    await jwks.start();
    [rsa, ec] = await Promise.all([makeKey('RS256'), makeKey('ES256')]);
    jwks.keys = [rsa, ec];
  });
  afterAll(() => jwks.stop());
  const t = useTestApp(() => ({
    JWKS_URI: `${jwks.url}/jwks`,
    JWT_ISSUER: ISSUER,
    JWT_AUDIENCE: AUDIENCE,
    JWT_USER_ID_CLAIM: 'sub',
    JWT_ALGORITHMS: 'ES256',
  }));
  const f = t.f;

  const me = (token: string): Promise<TestResponse> => request(t.baseUrl, 'GET', '/api/v2/user/me/', { token });

  it('200 for an ES256 token whose sub is the user id', async () => {
    const user = await f.makeUser();
    const response = await me(await sign(ec, drop(idpClaims(user.id, { sub: String(user.id) }), 'user_id')));
    expect(response.status, response.text).toBe(200);
    expect(response.body.id).toBe(user.id);
  });

  it('401 for an RS256 token: not in JWT_ALGORITHMS, although the provider publishes the key', async () => {
    const user = await f.makeUser();
    expectProblem(
      await me(await sign(rsa, idpClaims(user.id, { sub: String(user.id) }))),
      problems.notAuthenticated(/algorithm/),
    );
  });

  it('401 when sub is not a community user id, or only user_id carries it', async () => {
    const user = await f.makeUser();
    for (const sub of [randomUUID(), `${user.id}abc`, '0']) {
      expectProblem(await me(await sign(ec, idpClaims(user.id, { sub }))), problems.notAuthenticated(/sub/));
    }
    expectProblem(await me(await sign(ec, idpClaims(user.id))), problems.notAuthenticated(/sub/));
  });
});
