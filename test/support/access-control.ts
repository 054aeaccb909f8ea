import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { expect } from 'vitest';
import { UserDto } from '../../src/users/dto/user.dto';
import { TestApp } from './create-test-app';
import { associationCountMoves, DbDiff, describeDiff, diff, isEmptyDiff, snapshot } from './db-snapshot';
import { Factories } from './factories';
import { request, RequestOptions, TestResponse } from './http';
import { ExpectedProblem, expectProblem, problems } from './problem';
import { tokenFor } from './tokens';

/**
 * The fixtures of the access-control e2e files (test/e2e/access-control-*.e2e-spec.ts),
 * which try the API as an attacker would (OWASP API Security Top 10 2023): API1 broken
 * object level authorization, API2 broken authentication, API3 broken object property
 * level authorization, API5 broken function level authorization. Every denial is also
 * checked to change no row; every success to change exactly the rows it should.
 * docs/security.md maps each threat to those tests.
 *
 * Here: the actors, the users and associations they act on (arrange), the route x actor
 * matrix with the change each allowed request must make (ROUTES), and requests that
 * measure their database change (accessProbe).
 */

export const ACTORS = ['anonymous', 'other', 'moderator', 'editor', 'self', 'admin', 'deactivated', 'deleted'] as const;
export type Actor = (typeof ACTORS)[number];

export interface Identity {
  provider: string;
  ext_id: string;
}

export interface Fixture {
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

export interface RouteCase {
  route: string;
  method: 'GET' | 'POST' | 'DELETE';
  path(fx: Fixture): string;
  body?(fx: Fixture): unknown;
  expected: Record<Actor, number>;
  /** Asserts the body and the exact database change of an allowed request. */
  check(response: TestResponse, change: DbDiff, fx: Fixture, actor: Actor): void;
}

export const statuses = (...codes: number[]): Record<Actor, number> =>
  Object.fromEntries(ACTORS.map((actor, i) => [actor, codes[i]])) as Record<Actor, number>;

//                                  anon other  mod  edit self admin deact deleted
export const SELF_OR_ADMIN = statuses(401, 403, 403, 403, 201, 201, 401, 401);
export const SELF_OR_ADMIN_DELETE = statuses(401, 403, 403, 403, 204, 204, 401, 401);
export const PUBLIC_READ = statuses(200, 200, 200, 200, 200, 200, 401, 401);
export const AUTHENTICATED = statuses(401, 200, 200, 200, 200, 200, 401, 401);
export const ADMIN_ONLY = statuses(401, 403, 403, 403, 403, 200, 401, 401);
export const ADMIN_ONLY_CREATE = statuses(401, 403, 403, 403, 403, 201, 401, 401);
export const OPEN = statuses(200, 200, 200, 200, 200, 200, 200, 200);

export const PUBLIC_PROFILE_URL = 'https://plus.google.com/u/1';
export const METADATA = { plan: 'gold', employee_no: 42 };

export function fullView(fx: Fixture): unknown[] {
  return [
    { user_id: fx.target.id, ...fx.pub, profile_url: PUBLIC_PROFILE_URL, show_in_profile: true, metadata: null },
    { user_id: fx.target.id, ...fx.priv, profile_url: null, show_in_profile: false, metadata: null },
    { user_id: fx.target.id, ...fx.ext, profile_url: null, show_in_profile: false, metadata: METADATA },
  ];
}

/** What anyone but the user and admins sees: public associations only, never metadata. */
export function publicView(fx: Fixture): unknown[] {
  return [{ user_id: fx.target.id, ...fx.pub, profile_url: PUBLIC_PROFILE_URL, show_in_profile: true }];
}

export function expectNoChange(change: DbDiff): void {
  expect(isEmptyDiff(change), describeDiff(change)).toBe(true);
}

export function expectCreated(response: TestResponse, change: DbDiff, fx: Fixture, actor: Actor): void {
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

export function expectDeleted(response: TestResponse, change: DbDiff, fx: Fixture, actor: Actor): void {
  expect(response.text).toBe('');
  expect(change.social_associations.removed).toEqual([expect.objectContaining({ user_id: fx.target.id, ...fx.priv })]);
  expect(change.social_associations.added).toEqual([]);
  expect(change.audit_events.added).toEqual([
    expect.objectContaining({ action: 'social_association.deleted', actor_user_id: fx.callerId(actor) }),
  ]);
  expect(change.users.added.length + change.users.removed.length).toBe(0);
  expect(associationCountMoves(change)).toEqual({ moves: { [fx.target.id]: -1 }, other: 0 });
}

export function expectTargetList(response: TestResponse, change: DbDiff, fx: Fixture, actor: Actor): void {
  expect(response.body).toEqual(actor === 'self' || actor === 'admin' ? fullView(fx) : publicView(fx));
  expectNoChange(change);
}

export const newIdentity = (): Identity => ({ provider: 'github', ext_id: `gh-${randomUUID()}` });

/** The attack matrix: every route × every actor → status (docs/security.md has it as a table). */
export const ROUTES: RouteCase[] = [
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

export const PROBLEM_BY_STATUS: Record<number, ExpectedProblem> = {
  401: problems.notAuthenticated(),
  403: problems.permissionDenied(),
};

/** The users and associations every access-control test starts from (see Fixture). */
export async function arrange(f: Factories): Promise<Fixture> {
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

/** Requests that also measure their database change, against the app of `t`. */
export function accessProbe(t: Pick<TestApp, 'baseUrl' | 'dataSource'>) {
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

  return { attempt, expectRefused };
}

/** A request sent byte for byte as given (fetch would normalize the path and limit header sizes). */
export function rawRequest(
  baseUrl: string,
  method: string,
  path: string,
  token: string,
  body: string,
): Promise<number> {
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
