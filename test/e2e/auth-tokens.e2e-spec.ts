import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { TEST_JWT_SECRET } from '../support/create-test-app';
import { request, TestResponse } from '../support/http';
import { expectProblem, problems } from '../support/problem';
import { accessClaims, signToken, tokenFor } from '../support/tokens';
import { useTestApp } from '../support/use-test-app';

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A token whose header says `alg` and whose signature really is that HMAC over it. */
function signHmac(claims: Record<string, unknown>, alg: 'HS384' | 'HS512'): string {
  const input = `${b64({ alg, typ: 'JWT' })}.${b64(claims)}`;
  const hash = alg === 'HS384' ? 'sha384' : 'sha512';
  return `${input}.${createHmac(hash, TEST_JWT_SECRET).update(input).digest('base64url')}`;
}

function expectUnauthorized(response: TestResponse): void {
  expectProblem(response, problems.notAuthenticated());
  expect(response.headers.get('www-authenticate')).toBe('Bearer');
}

describe('Tokens (Authorization: Bearer, HS256)', () => {
  const t = useTestApp();
  const f = t.f;

  const now = () => Math.floor(Date.now() / 1000);

  /** A user with one association; deleting it with a valid token is a 204. */
  async function arrange() {
    const user = await f.makeUser();
    await f.link(user.id, { provider: 'google', ext_id: '123' });
    return user;
  }

  const deleteWith = (userId: number, headers: Record<string, string>) =>
    request(t.baseUrl, 'DELETE', `/api/v2/user/${userId}/provider/`, {
      headers,
      body: { ext_id: '123', provider: 'google' },
    });

  /** Sends the token and asserts a 401 that left the association in place. */
  async function expectRejected(userId: number, authorization: string | undefined): Promise<void> {
    const response = await deleteWith(userId, authorization === undefined ? {} : { authorization });
    expectUnauthorized(response);
    expect(await f.countAssociations(userId)).toBe(1);
  }

  async function expectAccepted(userId: number, token: string): Promise<void> {
    const response = await deleteWith(userId, { authorization: `Bearer ${token}` });
    expect(response.status, response.text).toBe(204);
    expect(await f.countAssociations(userId)).toBe(0);
  }

  describe('accepted', () => {
    it('204 with a valid access token', async () => {
      const user = await arrange();
      await expectAccepted(user.id, tokenFor(user.id));
    });

    it('204 with the scheme written in lowercase (bearer)', async () => {
      const user = await arrange();
      const response = await deleteWith(user.id, { authorization: `bearer ${tokenFor(user.id)}` });
      expect(response.status, response.text).toBe(204);
    });

    it('204 when iat is slightly in the future, within the 30 s skew', async () => {
      const user = await arrange();
      await expectAccepted(user.id, signToken(accessClaims(user.id, { iat: now() + 10 })));
    });

    it('204 for a token that lives exactly the maximum lifetime (1 day)', async () => {
      const user = await arrange();
      await expectAccepted(user.id, signToken(accessClaims(user.id, { iat: now(), exp: now() + 86_400 })));
    });

    it('204 when nbf is in the past', async () => {
      const user = await arrange();
      await expectAccepted(user.id, signToken(accessClaims(user.id, { nbf: now() - 60 })));
    });

    it('204 with iss and aud claims when none are configured', async () => {
      const user = await arrange();
      await expectAccepted(user.id, signToken(accessClaims(user.id, { iss: 'anyone', aud: 'anything' })));
    });
  });

  describe('401', () => {
    it('401 without an Authorization header', async () => {
      const user = await arrange();
      await expectRejected(user.id, undefined);
    });

    it.each([
      ['Basic', (token: string) => `Basic ${Buffer.from(`user:${token}`).toString('base64')}`],
      ['Token', (token: string) => `Token ${token}`],
      ['JWT', (token: string) => `JWT ${token}`],
      ['no scheme', (token: string) => token],
    ])('401 for a non-Bearer scheme (%s) even with a valid token', async (_name, header) => {
      const user = await arrange();
      await expectRejected(user.id, header(tokenFor(user.id)));
    });

    it.each(['Bearer', 'Bearer ', 'Bearer garbage', 'Bearer a.b.c', 'Bearer ....', 'Bearer a.b.c.d'])(
      '401 for a garbage bearer token (%j)',
      async (authorization) => {
        const user = await arrange();
        await expectRejected(user.id, authorization);
      },
    );

    it('401 for a token signed with another secret', async () => {
      const user = await arrange();
      const token = signToken(accessClaims(user.id), undefined, 'another-secret-that-is-also-32-characters-long');
      await expectRejected(user.id, `Bearer ${token}`);
    });

    it('401 for alg none without a signature', async () => {
      const user = await arrange();
      await expectRejected(user.id, `Bearer ${signToken(accessClaims(user.id), { alg: 'none', typ: 'JWT' })}`);
    });

    it.each(['none', 'None', 'NONE', 'hs256'])('401 for alg %s even with a valid HS256 signature', async (alg) => {
      const user = await arrange();
      const claims = accessClaims(user.id);
      const input = `${b64({ alg, typ: 'JWT' })}.${b64(claims)}`;
      const signature = createHmac('sha256', TEST_JWT_SECRET).update(input).digest('base64url');
      await expectRejected(user.id, `Bearer ${input}.${signature}`);
    });

    it.each(['HS384', 'HS512'] as const)('401 for alg %s, even correctly signed with the secret', async (alg) => {
      const user = await arrange();
      await expectRejected(user.id, `Bearer ${signHmac(accessClaims(user.id), alg)}`);
    });

    it.each(['HS512', 'RS256', 'ES256'])('401 for an HS256 signature under an alg %s header', async (alg) => {
      const user = await arrange();
      await expectRejected(user.id, `Bearer ${signToken(accessClaims(user.id), { alg, typ: 'JWT' })}`);
    });

    it('401 for a header without alg', async () => {
      const user = await arrange();
      await expectRejected(user.id, `Bearer ${signToken(accessClaims(user.id), { typ: 'JWT' })}`);
    });

    it('401 for a valid signature over a tampered payload (another user_id)', async () => {
      const user = await arrange();
      const admin = await f.makeAdmin();
      const [header, , signature] = tokenFor(user.id).split('.');
      const tampered = `${header}.${b64(accessClaims(admin.id))}.${signature}`;
      await expectRejected(user.id, `Bearer ${tampered}`);
    });

    it.each([
      ['exp missing', { exp: undefined }],
      ['exp in the past', { exp: now() - 3600 }],
      ['exp as a string', { exp: String(now() + 3600) }],
      ['exp: 1e308 (a lifetime without bound)', { exp: 1e308 }],
      [
        'a lifetime of a day and a second (JWT_MAX_LIFETIME_SECONDS, 1 day by default)',
        { iat: now(), exp: now() + 86_401 },
      ],
      ['iat missing', { iat: undefined }],
      ['iat 10 minutes in the future', { iat: now() + 600 }],
      ['iat as a string', { iat: String(now()) }],
      ['nbf 10 minutes in the future', { nbf: now() + 600 }],
      ['nbf as a string', { nbf: String(now()) }],
      ["token_type 'refresh'", { token_type: 'refresh' }],
      ['token_type missing', { token_type: undefined }],
      ["token_type 'Access'", { token_type: 'Access' }],
      ['user_id missing', { user_id: undefined }],
      ['user_id 0', { user_id: 0 }],
      ['user_id -1', { user_id: -1 }],
      ["user_id '7' (a string)", { user_id: '7' }],
      ['user_id 1.5', { user_id: 1.5 }],
      ['user_id 2147483648', { user_id: 2_147_483_648 }],
      ['user_id null', { user_id: null }],
    ])('401 for %s', async (_name, overrides) => {
      const user = await arrange();
      // JSON.stringify drops the undefined members: those claims are missing.
      await expectRejected(user.id, `Bearer ${signToken(accessClaims(user.id, overrides))}`);
    });

    it("401 for user_id '7' (a string) naming an existing user", async () => {
      const user = await arrange();
      const claims = accessClaims(user.id, { user_id: String(user.id) });
      await expectRejected(user.id, `Bearer ${signToken(claims)}`);
    });

    it('401 for a payload that is a JSON array, not an object', async () => {
      const user = await arrange();
      const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64([accessClaims(user.id)])}`;
      const signature = createHmac('sha256', TEST_JWT_SECRET).update(input).digest('base64url');
      await expectRejected(user.id, `Bearer ${input}.${signature}`);
    });

    it('401 when the user of the token was deleted', async () => {
      const user = await arrange();
      const admin = await f.makeAdmin();
      await f.link(admin.id, { provider: 'apple', ext_id: 'a' });
      const token = tokenFor(admin.id);
      await f.deleteUser(admin.id);
      const response = await deleteWith(user.id, { authorization: `Bearer ${token}` });
      expectUnauthorized(response);
      expect(await f.countAssociations(user.id)).toBe(1);
    });

    it('401 when the user of the token is deactivated', async () => {
      const user = await arrange();
      const token = tokenFor(user.id);
      await f.deactivate(user.id);
      await expectRejected(user.id, `Bearer ${token}`);
    });

    it('401 when the admin of the token is deactivated', async () => {
      const user = await arrange();
      const admin = await f.makeAdmin();
      const token = tokenFor(admin.id);
      await f.deactivate(admin.id);
      await expectRejected(user.id, `Bearer ${token}`);
    });

    it('401 for a validly signed token longer than 4096 characters', async () => {
      const user = await arrange();
      const token = signToken(accessClaims(user.id, { padding: 'x'.repeat(4000) }));
      expect(token.length).toBeGreaterThan(4096);
      await expectRejected(user.id, `Bearer ${token}`);
    });

    it.each([
      ['the last character', (token: string) => token.slice(0, -1)],
      ['the signature', (token: string) => token.slice(0, token.lastIndexOf('.'))],
      ['the signature but not its dot', (token: string) => token.slice(0, token.lastIndexOf('.') + 1)],
      ['half of it', (token: string) => token.slice(0, Math.floor(token.length / 2))],
    ])('401 for a token truncated by %s', async (_name, truncate) => {
      const user = await arrange();
      await expectRejected(user.id, `Bearer ${truncate(tokenFor(user.id))}`);
    });

    it('401 for a valid token with an extra segment', async () => {
      const user = await arrange();
      await expectRejected(user.id, `Bearer ${tokenFor(user.id)}.extra`);
    });

    it('401 bodies do not echo the token', async () => {
      const user = await arrange();
      const token = signToken(accessClaims(user.id, { exp: now() - 3600 }));
      const response = await deleteWith(user.id, { authorization: `Bearer ${token}` });
      expectUnauthorized(response);
      expect(response.text).not.toContain(token);
      expect(response.text).not.toContain(token.split('.')[2]);
    });
  });

  describe('roles come from the database', () => {
    it("403 for a token carrying role 'admin' of a user who is not an admin", async () => {
      const user = await arrange();
      const intruder = await f.makeUser();
      const token = signToken(accessClaims(intruder.id, { role: 'admin', is_admin: true, is_staff: true }));
      const response = await deleteWith(user.id, { authorization: `Bearer ${token}` });
      expectProblem(response, problems.permissionDenied());
      expect(await f.countAssociations(user.id)).toBe(1);
    });
  });
});

describe('Tokens with JWT_ISSUER and JWT_AUDIENCE configured', () => {
  const ISSUER = 'https://community.example.com';
  const AUDIENCE = 'social-associations';
  const t = useTestApp({ JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE });
  const f = t.f;

  const deleteWith = (userId: number, token: string, extId = '123') =>
    request(t.baseUrl, 'DELETE', `/api/v2/user/${userId}/provider/`, {
      token,
      body: { ext_id: extId, provider: 'google' },
    });

  async function arrange() {
    const user = await f.makeUser();
    await f.link(user.id, { provider: 'google', ext_id: '123' });
    return user;
  }

  it('204 with the configured iss and aud', async () => {
    const user = await arrange();
    const response = await deleteWith(user.id, signToken(accessClaims(user.id, { iss: ISSUER, aud: AUDIENCE })));
    expect(response.status, response.text).toBe(204);
    expect(await f.countAssociations(user.id)).toBe(0);
  });

  it('204 with aud as an array that contains the configured audience', async () => {
    const user = await arrange();
    const token = signToken(accessClaims(user.id, { iss: ISSUER, aud: ['other-service', AUDIENCE] }));
    const response = await deleteWith(user.id, token);
    expect(response.status, response.text).toBe(204);
  });

  it('404 (authenticated) with the configured iss and aud and no such association', async () => {
    const user = await arrange();
    const response = await deleteWith(user.id, signToken(accessClaims(user.id, { iss: ISSUER, aud: AUDIENCE })), '9');
    expectProblem(response, problems.notFound(/has no \S+ association/));
  });

  it.each([
    ['iss missing', { aud: AUDIENCE }],
    ['iss wrong', { iss: 'https://evil.example.com', aud: AUDIENCE }],
    ['iss differing only by a trailing slash', { iss: `${ISSUER}/`, aud: AUDIENCE }],
    ['aud missing', { iss: ISSUER }],
    ['aud wrong', { iss: ISSUER, aud: 'another-service' }],
    ['aud an array without the configured audience', { iss: ISSUER, aud: ['a', 'b'] }],
    ['aud empty array', { iss: ISSUER, aud: [] }],
    ['both missing', {}],
  ])('401 for %s', async (_name, claims) => {
    const user = await arrange();
    const response = await deleteWith(user.id, signToken(accessClaims(user.id, claims)));
    expectUnauthorized(response);
    expect(await f.countAssociations(user.id)).toBe(1);
  });

  it('the rules without iss/aud still apply (expired token with the right iss and aud: 401)', async () => {
    const user = await arrange();
    const past = Math.floor(Date.now() / 1000) - 3600;
    const response = await deleteWith(
      user.id,
      signToken(accessClaims(user.id, { iss: ISSUER, aud: AUDIENCE, exp: past })),
    );
    expectUnauthorized(response);
  });
});
