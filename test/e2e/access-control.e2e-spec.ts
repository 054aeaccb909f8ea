import { createHmac, generateKeyPairSync, randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { beforeEach, describe, expect, it } from 'vitest';
import { UserDto } from '../../src/users/dto/user.dto';
import { TEST_JWT_SECRET } from '../support/create-test-app';
import { associationCountMoves, DbDiff, describeDiff, diff, isEmptyDiff, snapshot } from '../support/db-snapshot';
import { request, RequestOptions, TestResponse } from '../support/http';
import { ExpectedProblem, expectProblem, problems } from '../support/problem';
import { accessClaims, signToken, tokenFor } from '../support/tokens';
import { useTestApp } from '../support/use-test-app';

/**
 * The API as an attacker would try it (OWASP API Security Top 10 2023): API1
 * broken object level authorization, API2 broken authentication, API3 broken
 * object property level authorization, API5 broken function level authorization.
 * Every denial is also checked to change no row; every success to change exactly
 * the rows it should. docs/security.md maps each threat to these tests.
 */

const ACTORS = ['anonymous', 'other', 'moderator', 'editor', 'self', 'admin', 'deactivated', 'deleted'] as const;
type Actor = (typeof ACTORS)[number];

interface Identity {
  provider: string;
  ext_id: string;
}

interface Fixture {
  /** The user every route targets (no role, has a usable password). */
  target: UserDto;
  users: Record<Exclude<Actor, 'anonymous' | 'self' | 'deleted'>, UserDto>;
  /** The id of a user that existed, got a token, and was deleted. */
  deletedId: number;
  /** target's associations: public (shown in profile), private, external (with metadata). */
  pub: Identity;
  priv: Identity;
  ext: Identity;
  /** other's own (private) association. */
  otherOwn: Identity;
  callerId(actor: Actor): number | undefined;
  token(actor: Actor): string | undefined;
}

interface RouteCase {
  route: string;
  method: 'GET' | 'POST' | 'DELETE';
  path(fx: Fixture): string;
  body?(fx: Fixture): unknown;
  expected: Record<Actor, number>;
  /** Asserts the body and the exact database change of an allowed request. */
  check(response: TestResponse, change: DbDiff, fx: Fixture, actor: Actor): void;
}

const statuses = (...codes: number[]): Record<Actor, number> =>
  Object.fromEntries(ACTORS.map((actor, i) => [actor, codes[i]])) as Record<Actor, number>;

//                                  anon other  mod  edit self admin deact deleted
const SELF_OR_ADMIN = statuses(401, 403, 403, 403, 201, 201, 401, 401);
const SELF_OR_ADMIN_DELETE = statuses(401, 403, 403, 403, 204, 204, 401, 401);
const PUBLIC_READ = statuses(200, 200, 200, 200, 200, 200, 401, 401);
const AUTHENTICATED = statuses(401, 200, 200, 200, 200, 200, 401, 401);
const ADMIN_ONLY = statuses(401, 403, 403, 403, 403, 200, 401, 401);
const ADMIN_ONLY_CREATE = statuses(401, 403, 403, 403, 403, 201, 401, 401);
const OPEN = statuses(200, 200, 200, 200, 200, 200, 200, 200);

const PUBLIC_PROFILE_URL = 'https://plus.google.com/u/1';
const METADATA = { plan: 'gold', employee_no: 42 };

function fullView(fx: Fixture): unknown[] {
  return [
    { user_id: fx.target.id, ...fx.pub, profile_url: PUBLIC_PROFILE_URL, show_in_profile: true, metadata: null },
    { user_id: fx.target.id, ...fx.priv, profile_url: null, show_in_profile: false, metadata: null },
    { user_id: fx.target.id, ...fx.ext, profile_url: null, show_in_profile: false, metadata: METADATA },
  ];
}

/** What anyone but the user and admins sees: public associations only, never metadata. */
function publicView(fx: Fixture): unknown[] {
  return [{ user_id: fx.target.id, ...fx.pub, profile_url: PUBLIC_PROFILE_URL, show_in_profile: true }];
}

function expectNoChange(change: DbDiff): void {
  expect(isEmptyDiff(change), describeDiff(change)).toBe(true);
}

function expectCreated(response: TestResponse, change: DbDiff, fx: Fixture, actor: Actor): void {
  expect(response.body).toEqual({
    user_id: fx.target.id,
    provider: 'github',
    ext_id: expect.stringMatching(/^gh-/),
    profile_url: null,
    metadata: null,
    show_in_profile: false,
  });
  expect(change.social_associations.added).toEqual([
    expect.objectContaining({ user_id: fx.target.id, provider: 'github', ext_id: response.body.ext_id }),
  ]);
  expect(change.audit_events.added).toEqual([
    expect.objectContaining({
      action: 'social_association.created',
      actor_user_id: fx.callerId(actor),
      target_user_id: fx.target.id,
    }),
  ]);
  expect(change.social_associations.removed.length + change.social_associations.changed.length).toBe(0);
  expect(change.users.added.length + change.users.removed.length).toBe(0);
  expect(associationCountMoves(change)).toEqual({ moves: { [fx.target.id]: 1 }, other: 0 });
}

function expectDeleted(response: TestResponse, change: DbDiff, fx: Fixture, actor: Actor): void {
  expect(response.text).toBe('');
  expect(change.social_associations.removed).toEqual([expect.objectContaining({ user_id: fx.target.id, ...fx.priv })]);
  expect(change.social_associations.added).toEqual([]);
  expect(change.audit_events.added).toEqual([
    expect.objectContaining({ action: 'social_association.deleted', actor_user_id: fx.callerId(actor) }),
  ]);
  expect(change.users.added.length + change.users.removed.length).toBe(0);
  expect(associationCountMoves(change)).toEqual({ moves: { [fx.target.id]: -1 }, other: 0 });
}

function expectTargetList(response: TestResponse, change: DbDiff, fx: Fixture, actor: Actor): void {
  expect(response.body).toEqual(actor === 'self' || actor === 'admin' ? fullView(fx) : publicView(fx));
  expectNoChange(change);
}

const newIdentity = (): Identity => ({ provider: 'github', ext_id: `gh-${randomUUID()}` });

/** The attack matrix: every route × every actor → status (docs/security.md has it as a table). */
const ROUTES: RouteCase[] = [
  {
    route: 'POST /api/v2/user/{id}/provider/',
    method: 'POST',
    path: (fx) => `/api/v2/user/${fx.target.id}/provider/`,
    body: () => newIdentity(),
    expected: SELF_OR_ADMIN,
    check: expectCreated,
  },
  {
    route: 'POST /api/v2/user/provider/ (body user_id)',
    method: 'POST',
    path: () => '/api/v2/user/provider/',
    body: (fx) => ({ ...newIdentity(), user_id: fx.target.id }),
    expected: SELF_OR_ADMIN,
    check: expectCreated,
  },
  {
    route: 'GET /api/v2/user/{id}/provider/',
    method: 'GET',
    path: (fx) => `/api/v2/user/${fx.target.id}/provider/`,
    expected: PUBLIC_READ,
    check: expectTargetList,
  },
  {
    route: 'GET /api/v2/user/provider/?user_id={id}',
    method: 'GET',
    path: (fx) => `/api/v2/user/provider/?user_id=${fx.target.id}`,
    expected: PUBLIC_READ,
    check: expectTargetList,
  },
  {
    route: 'GET /api/v2/user/provider/ (own)',
    method: 'GET',
    path: () => '/api/v2/user/provider/',
    expected: AUTHENTICATED,
    check: (response, change, fx, actor) => {
      const own: Partial<Record<Actor, unknown[]>> = {
        self: fullView(fx),
        other: [
          { user_id: fx.users.other.id, ...fx.otherOwn, profile_url: null, show_in_profile: false, metadata: null },
        ],
      };
      expect(response.body).toEqual(own[actor] ?? []);
      expectNoChange(change);
    },
  },
  {
    route: 'GET /api/v2/user/provider/?provider=&ext_id= (resolve)',
    method: 'GET',
    path: (fx) => `/api/v2/user/provider/?provider=${fx.pub.provider}&ext_id=${fx.pub.ext_id}`,
    expected: ADMIN_ONLY,
    check: (response, change, fx) => {
      expect(response.body).toEqual([fullView(fx)[0]]);
      expectNoChange(change);
    },
  },
  {
    route: 'DELETE /api/v2/user/{id}/provider/ (body)',
    method: 'DELETE',
    path: (fx) => `/api/v2/user/${fx.target.id}/provider/`,
    body: (fx) => ({ ...fx.priv, user_id: fx.target.id }),
    expected: SELF_OR_ADMIN_DELETE,
    check: expectDeleted,
  },
  {
    route: 'DELETE /api/v2/user/{id}/provider/?provider=&ext_id= (query)',
    method: 'DELETE',
    path: (fx) => `/api/v2/user/${fx.target.id}/provider/?provider=${fx.priv.provider}&ext_id=${fx.priv.ext_id}`,
    expected: SELF_OR_ADMIN_DELETE,
    check: expectDeleted,
  },
  {
    route: 'POST /api/v2/sso/signup/',
    method: 'POST',
    path: () => '/api/v2/sso/signup/',
    body: () => ({ username: `new_${randomUUID().slice(0, 8)}`, role: 'admin' }),
    expected: ADMIN_ONLY_CREATE,
    check: (response, change) => {
      expect(response.body).toMatchObject({ username: expect.stringMatching(/^new_/), role: 'admin' });
      expect(change.users.added).toEqual([expect.objectContaining({ id: response.body.id, role: 'admin' })]);
      expect(change.users.removed.length + change.users.changed.length).toBe(0);
      expect(change.social_associations).toEqual({ added: [], removed: [], changed: [] });
    },
  },
  {
    route: 'GET /api/v2/user/me/',
    method: 'GET',
    path: () => '/api/v2/user/me/',
    expected: AUTHENTICATED,
    check: (response, change, fx, actor) => {
      expect(response.body.id).toBe(fx.callerId(actor));
      expectNoChange(change);
    },
  },
  {
    route: 'GET /api/v2/audit/social-associations/',
    method: 'GET',
    path: () => '/api/v2/audit/social-associations/',
    expected: ADMIN_ONLY,
    check: (response, change) => {
      expect(response.body.results).toHaveLength(4);
      expectNoChange(change);
    },
  },
  {
    route: 'GET /api/docs-json',
    method: 'GET',
    path: () => '/api/docs-json',
    expected: OPEN,
    check: (response, change) => {
      expect(response.body.openapi).toMatch(/^3\./);
      expectNoChange(change);
    },
  },
  {
    route: 'GET /api/docs',
    method: 'GET',
    path: () => '/api/docs',
    expected: OPEN,
    check: (response, change) => {
      expect(response.text).toContain('swagger');
      expectNoChange(change);
    },
  },
  {
    route: 'GET /health/live',
    method: 'GET',
    path: () => '/health/live',
    expected: OPEN,
    check: (_response, change) => expectNoChange(change),
  },
  {
    route: 'GET /health/ready',
    method: 'GET',
    path: () => '/health/ready',
    expected: OPEN,
    check: (_response, change) => expectNoChange(change),
  },
];

const PROBLEM_BY_STATUS: Record<number, ExpectedProblem> = {
  401: problems.notAuthenticated(),
  403: problems.permissionDenied(),
};

describe('access control: the API as an attacker would try it', () => {
  const t = useTestApp();
  const f = t.f;
  let fx: Fixture;

  beforeEach(async () => {
    fx = await arrange();
  });

  async function arrange(): Promise<Fixture> {
    const target = await f.makeUser();
    const users = {
      other: await f.makeUser(),
      moderator: await f.makeUser({ role: 'moderator' }),
      editor: await f.makeUser({ role: 'editor' }),
      admin: await f.makeAdmin(),
      deactivated: await f.makeUser(),
    };
    await f.deactivate(users.deactivated.id);
    const deleted = await f.makeUser();
    await f.deleteUser(deleted.id);

    const pub = { provider: 'google', ext_id: `g-${randomUUID()}` };
    const priv = { provider: 'github', ext_id: `gh-${randomUUID()}` };
    const ext = { provider: 'external', ext_id: `x-${randomUUID()}` };
    const otherOwn = { provider: 'twitter', ext_id: `tw-${randomUUID()}` };
    await f.link(target.id, { ...pub, profile_url: PUBLIC_PROFILE_URL, show_in_profile: true });
    await f.link(target.id, priv);
    await f.link(target.id, { ...ext, metadata: METADATA });
    await f.link(users.other.id, otherOwn);

    const callerId = (actor: Actor): number | undefined => {
      if (actor === 'anonymous') return undefined;
      if (actor === 'self') return target.id;
      if (actor === 'deleted') return deleted.id;
      return users[actor].id;
    };
    return {
      target,
      users,
      deletedId: deleted.id,
      pub,
      priv,
      ext,
      otherOwn,
      callerId,
      token: (actor) => {
        const id = callerId(actor);
        return id === undefined ? undefined : tokenFor(id);
      },
    };
  }

  /** Sends the request and returns it with the exact database change it caused. */
  async function attempt(
    method: string,
    path: string,
    options: RequestOptions,
  ): Promise<{ response: TestResponse; change: DbDiff }> {
    const before = await snapshot(t.dataSource);
    const response = await request(t.baseUrl, method, path, options);
    return { response, change: diff(before, await snapshot(t.dataSource)) };
  }

  /** A refusal: the status, a problem body, and not one row changed. */
  async function expectRefused(
    method: string,
    path: string,
    options: RequestOptions,
    expected: ExpectedProblem,
  ): Promise<TestResponse> {
    const { response, change } = await attempt(method, path, options);
    expectProblem(response, expected);
    expectNoChange(change);
    return response;
  }

  describe('the matrix: every route × every actor', () => {
    describe.each(ROUTES)('$route', (route) => {
      it.each(ACTORS)('%s', async (actor) => {
        const expected = route.expected[actor];
        const { response, change } = await attempt(route.method, route.path(fx), {
          token: fx.token(actor),
          ...(route.body ? { body: route.body(fx) } : {}),
        });
        expect(response.status, response.text).toBe(expected);
        if (expected >= 400) {
          expectProblem(response, PROBLEM_BY_STATUS[expected]);
          expectNoChange(change);
        } else {
          route.check(response, change, fx, actor);
        }
      });
    });
  });

  describe('API1 broken object level authorization', () => {
    it('403 for a non-admin acting on a user that does not exist (no enumeration); admins get 404', async () => {
      const missing = fx.target.id + 10_000;
      const other = fx.token('other');
      for (const [method, path, body] of [
        ['POST', `/api/v2/user/${missing}/provider/`, newIdentity()],
        ['POST', '/api/v2/user/provider/', { ...newIdentity(), user_id: missing }],
        ['DELETE', `/api/v2/user/${missing}/provider/`, fx.priv],
      ] as const) {
        await expectRefused(method, path, { token: other, body }, problems.permissionDenied());
        await expectRefused(
          method,
          path,
          { token: fx.token('admin'), body },
          problems.notFound(/^User \d+ does not exist$/),
        );
      }
    });

    it("an association of user A cannot be deleted through user B's path, by B or by an admin (404, A keeps it)", async () => {
      const b = fx.users.other;
      for (const token of [tokenFor(b.id), fx.token('admin')]) {
        await expectRefused(
          'DELETE',
          `/api/v2/user/${b.id}/provider/`,
          { token, body: fx.priv },
          problems.notFound(/has no \S+ association/),
        );
        await expectRefused(
          'DELETE',
          `/api/v2/user/${b.id}/provider/?provider=${fx.priv.provider}&ext_id=${fx.priv.ext_id}`,
          { token },
          problems.notFound(/has no \S+ association/),
        );
      }
      expect(await f.countAssociations(fx.target.id)).toBe(3);
    });

    it("403 for B deleting B's own association through A's path", async () => {
      await expectRefused(
        'DELETE',
        `/api/v2/user/${fx.target.id}/provider/`,
        { token: fx.token('other'), body: fx.otherOwn },
        problems.permissionDenied(),
      );
    });

    it('ids in path and body that disagree: 400 for self and admin, 403 when the path names someone else', async () => {
      const self = fx.token('self');
      const otherId = fx.users.other.id;
      await expectRefused(
        'POST',
        `/api/v2/user/${fx.target.id}/provider/`,
        { token: self, body: { ...newIdentity(), user_id: otherId } },
        problems.invalidField('user_id', 'user_id_mismatch'),
      );
      await expectRefused(
        'POST',
        `/api/v2/user/${otherId}/provider/`,
        { token: self, body: { ...newIdentity(), user_id: fx.target.id } },
        problems.permissionDenied(),
      );
      await expectRefused(
        'DELETE',
        `/api/v2/user/${fx.target.id}/provider/`,
        { token: self, body: { ...fx.otherOwn, user_id: otherId } },
        problems.invalidField('user_id', 'user_id_mismatch'),
      );
      await expectRefused(
        'DELETE',
        `/api/v2/user/${otherId}/provider/`,
        { token: self, body: { ...fx.otherOwn, user_id: fx.target.id } },
        problems.permissionDenied(),
      );
      await expectRefused(
        'POST',
        `/api/v2/user/${fx.target.id}/provider/`,
        { token: fx.token('admin'), body: { ...newIdentity(), user_id: otherId } },
        problems.invalidField('user_id', 'user_id_mismatch'),
      );
      await expectRefused(
        'DELETE',
        `/api/v2/user/${fx.target.id}/provider/`,
        { token: fx.token('admin'), body: { ...fx.otherOwn, user_id: otherId } },
        problems.invalidField('user_id', 'user_id_mismatch'),
      );
    });

    it("a string user_id in the body is the same user (403 for someone else's), a disguised one is a 400, never a create", async () => {
      const self = fx.token('self');
      const otherId = fx.users.other.id;
      await expectRefused(
        'POST',
        '/api/v2/user/provider/',
        { token: self, body: { ...newIdentity(), user_id: String(otherId) } },
        problems.permissionDenied(),
      );
      for (const disguised of [
        [otherId],
        { id: otherId },
        `0${otherId}`,
        `${otherId} `,
        `+${otherId}`,
        otherId + 0.5,
        `${otherId}\u0000`,
        true,
        'me',
      ]) {
        await expectRefused(
          'POST',
          '/api/v2/user/provider/',
          { token: self, body: { ...newIdentity(), user_id: disguised } },
          problems.invalidField('user_id'),
        );
      }
      await expectRefused(
        'POST',
        '/api/v2/user/provider/',
        { token: self, body: newIdentity() },
        problems.invalidField('user_id'),
      );
    });

    // Found by this suite: `user_id: null` passed @IsOptional() in CreateSocialAssociationDto and reached
    // the service as a null user id (500). Fixed with IsOmittable (absent is optional, null is invalid).
    it('400 for user_id: null in the body of POST /api/v2/user/provider/, for self and admin (was a 500)', async () => {
      for (const token of [fx.token('self'), fx.token('admin')]) {
        await expectRefused(
          'POST',
          '/api/v2/user/provider/',
          { token, body: { ...newIdentity(), user_id: null } },
          problems.invalidField('user_id'),
        );
      }
    });

    it('a duplicated user_id key in the raw JSON body cannot pass the guard with one id and reach the service with another', async () => {
      const rawBody = `{"provider":"github","ext_id":"gh-dup","user_id":${fx.target.id},"user_id":${fx.users.other.id}}`;
      const { response, change } = await attempt('POST', '/api/v2/user/provider/', {
        token: fx.token('self'),
        rawBody,
        headers: { 'content-type': 'application/json' },
      });
      // JSON.parse keeps the last key, so both the guard and the service see `other`.
      expectProblem(response, problems.permissionDenied());
      expectNoChange(change);
    });

    it('smuggled query parameters are refused, not used (DELETE ?user_id=, list ?user_id= twice)', async () => {
      await expectRefused(
        'DELETE',
        `/api/v2/user/${fx.users.other.id}/provider/?user_id=${fx.users.other.id}`,
        { token: tokenFor(fx.users.other.id), body: fx.priv },
        problems.invalidField('user_id', 'unknown_field'),
      );
      await expectRefused(
        'GET',
        `/api/v2/user/provider/?user_id=${fx.users.other.id}&user_id=${fx.target.id}`,
        { token: fx.token('other') },
        problems.invalidField('user_id'),
      );
      await expectRefused(
        'GET',
        `/api/v2/user/provider/?user_id=${fx.target.id}&provider=${fx.pub.provider}&ext_id=${fx.pub.ext_id}`,
        { token: fx.token('self') },
        problems.invalidField('user_id'),
      );
    });

    it.each([
      [
        'encoded digits',
        (id: number) => `/api/v2/user/${encodeURIComponent(String(id)).replace(/\d/, (d) => `%3${d}`)}/provider/`,
      ],
      ['a trailing NUL', (id: number) => `/api/v2/user/${id}%00/provider/`],
      ['an encoded slash', (id: number) => `/api/v2/user/${id}%2F1/provider/`],
      ['a leading zero', (id: number) => `/api/v2/user/0${id}/provider/`],
      ['a plus sign', (id: number) => `/api/v2/user/+${id}/provider/`],
      ['a fraction', (id: number) => `/api/v2/user/${id}.0/provider/`],
      ['a matrix parameter', (id: number) => `/api/v2/user/${id};x=1/provider/`],
    ])('path id with %s: never acts on another user', async (_name, path) => {
      const { response, change } = await attempt('DELETE', path(fx.target.id), {
        token: fx.token('other'),
        body: fx.priv,
      });
      expect([400, 403, 404]).toContain(response.status);
      if (response.status === 403) expectProblem(response, problems.permissionDenied());
      expectNoChange(change);
    });

    it("dot segments sent raw are not resolved into another user's path", async () => {
      const path = `/api/v2/user/${fx.users.other.id}/../${fx.target.id}/provider/`;
      const before = await snapshot(t.dataSource);
      const status = await rawRequest(t.baseUrl, 'DELETE', path, fx.token('other')!, JSON.stringify(fx.priv));
      expect(status).toBe(404);
      expectNoChange(diff(before, await snapshot(t.dataSource)));
    });

    it('X-HTTP-Method-Override does not turn a GET into a DELETE', async () => {
      const { response, change } = await attempt(
        'GET',
        `/api/v2/user/${fx.target.id}/provider/?provider=${fx.priv.provider}&ext_id=${fx.priv.ext_id}`,
        {
          token: fx.token('other'),
          headers: { 'x-http-method-override': 'DELETE', 'x-method-override': 'DELETE' },
        },
      );
      expect(response.status).not.toBe(204);
      expectNoChange(change);
    });
  });

  describe('API3 broken object property level authorization', () => {
    it('the public view never shows metadata or private associations, also to other roles', async () => {
      for (const actor of ['anonymous', 'other', 'moderator', 'editor'] as const) {
        const response = await request(t.baseUrl, 'GET', `/api/v2/user/${fx.target.id}/provider/`, {
          token: fx.token(actor),
        });
        expect(response.body).toEqual(publicView(fx));
        expect(response.text).not.toContain('gold');
        expect(response.text).not.toContain(fx.priv.ext_id);
      }
    });

    it('mass assignment: unknown or server-owned fields are a 400, never stored', async () => {
      const self = fx.token('self');
      for (const extra of [
        { id: 1 },
        { user: { id: fx.users.other.id } },
        { created_at: '2000-01-01' },
        { userId: fx.users.other.id },
      ]) {
        await expectRefused(
          'POST',
          `/api/v2/user/${fx.target.id}/provider/`,
          { token: self, body: { ...newIdentity(), ...extra } },
          problems.invalidField(Object.keys(extra)[0], 'unknown_field'),
        );
      }
      for (const extra of [{ is_active: false }, { id: fx.target.id }, { isAdmin: true }]) {
        await expectRefused(
          'POST',
          '/api/v2/sso/signup/',
          { token: fx.token('admin'), body: { username: 'mass_1', ...extra } },
          problems.invalidField(Object.keys(extra)[0], 'unknown_field'),
        );
      }
    });

    it('prototype pollution payloads are refused', async () => {
      for (const rawBody of [
        `{"provider":"github","ext_id":"gh-p","__proto__":{"isAdmin":true}}`,
        `{"provider":"github","ext_id":"gh-p","constructor":{"prototype":{"isAdmin":true}}}`,
      ]) {
        await expectRefused(
          'POST',
          `/api/v2/user/${fx.users.other.id}/provider/`,
          { token: tokenFor(fx.users.other.id), rawBody, headers: { 'content-type': 'application/json' } },
          problems.invalid(),
        );
      }
      const after = await request(t.baseUrl, 'GET', '/api/v2/user/me/', { token: tokenFor(fx.users.other.id) });
      expect(after.body.role).toBeNull();
    });
  });

  describe('API5 broken function level authorization', () => {
    it('a role claimed in the token is ignored: the role comes from the database', async () => {
      const forged = signToken(
        accessClaims(fx.target.id, { role: 'admin', is_admin: true, is_staff: true, scope: 'admin' }),
      );
      await expectRefused(
        'POST',
        '/api/v2/sso/signup/',
        { token: forged, body: { username: 'escalate_1' } },
        problems.permissionDenied(),
      );
      await expectRefused(
        'GET',
        `/api/v2/user/provider/?provider=${fx.pub.provider}&ext_id=${fx.pub.ext_id}`,
        { token: forged },
        problems.permissionDenied(),
      );
    });

    it('a demoted admin loses admin rights at once, with the same token', async () => {
      const admin = fx.users.admin;
      const token = tokenFor(admin.id);
      expect((await request(t.baseUrl, 'GET', '/api/v2/audit/social-associations/', { token })).status).toBe(200);
      await t.dataSource.query(`UPDATE users SET role = NULL WHERE id = ${admin.id}`);
      await expectRefused('GET', '/api/v2/audit/social-associations/', { token }, problems.permissionDenied());
      await expectRefused(
        'DELETE',
        `/api/v2/user/${fx.target.id}/provider/`,
        { token, body: fx.priv },
        problems.permissionDenied(),
      );
    });

    it('a deactivated user is locked out at once, also from their own data and from optional-auth routes', async () => {
      const token = fx.token('self');
      await f.deactivate(fx.target.id);
      await expectRefused(
        'DELETE',
        `/api/v2/user/${fx.target.id}/provider/`,
        { token, body: fx.priv },
        problems.notAuthenticated(),
      );
      await expectRefused('GET', `/api/v2/user/${fx.target.id}/provider/`, { token }, problems.notAuthenticated());
    });
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

/** A request sent byte for byte as given (fetch would normalize the path and limit header sizes). */
function rawRequest(baseUrl: string, method: string, path: string, token: string, body: string): Promise<number> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method,
        path,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
