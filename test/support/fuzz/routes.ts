import { expect } from 'vitest';
import { parseId } from '../../../src/common/validation/ids';
import { associationCountMoves, DbDiff, describeDiff } from '../db-snapshot';
import { BodyField, FuzzRequest, FuzzRoute, Outcome } from './requests';

// The routes the fuzz test (test/e2e/fuzz.e2e-spec.ts) drives, each with the checks its outcomes
// must pass beyond "no 5xx, problem+json errors, nothing changed unless allowed".

/** The path id as the server will read it, when it is a valid id. */
export const pathId = (r: FuzzRequest): number | undefined => {
  try {
    return parseId(decodeURIComponent(r.id));
  } catch {
    return undefined;
  }
};
export const slash = (r: FuzzRequest): string => (r.trailingSlash ? '/' : '');
export const jsonBody = (r: FuzzRequest): Record<string, unknown> =>
  r.body.kind === 'json' && r.body.value !== null && typeof r.body.value === 'object' && !Array.isArray(r.body.value)
    ? (r.body.value as Record<string, unknown>)
    : {};

export function expectAllowedTarget(o: Outcome, target: number | undefined): void {
  expect(target, 'a write succeeded without a valid target id').toBeDefined();
  expect(o.isAdmin || o.callerId === target, `caller ${o.callerId} wrote to user ${target}`).toBe(true);
}

export function expectOnly(
  change: DbDiff,
  expected: { users?: number; associationsAdded?: number; associationsRemoved?: number; audit?: number },
): void {
  // A made or removed association moves its user's association_count, and nothing else of that user.
  const { moves, other } = associationCountMoves(change);
  const moved = Object.values(moves).reduce((sum, move) => sum + move, 0);
  expect({ moved, movedUsers: Object.keys(moves).length, other }, describeDiff(change)).toEqual({
    moved: (expected.associationsAdded ?? 0) - (expected.associationsRemoved ?? 0),
    movedUsers: expected.associationsAdded || expected.associationsRemoved ? 1 : 0,
    other: 0,
  });
  const counts = {
    users: change.users.added.length,
    associationsAdded: change.social_associations.added.length,
    associationsRemoved: change.social_associations.removed.length,
    audit: change.audit_events.added.length,
  };
  expect(counts, describeDiff(change)).toEqual({
    users: 0,
    associationsAdded: 0,
    associationsRemoved: 0,
    audit: 0,
    ...expected,
  });
  const untouched =
    !change.users.removed.length &&
    !change.social_associations.changed.length &&
    !change.audit_events.removed.length &&
    !change.audit_events.changed.length;
  expect(untouched, describeDiff(change)).toBe(true);
}

export function verifyCreate(o: Outcome, target: number | undefined): void {
  if (o.status !== 201) return;
  expectAllowedTarget(o, target);
  const created = o.body as Record<string, unknown>;
  expect(created.user_id).toBe(target);
  expectOnly(o.change, { associationsAdded: 1, audit: 1 });
  expect(o.change.social_associations.added[0]).toMatchObject({
    user_id: target,
    provider: created.provider,
    ext_id: created.ext_id,
  });
  expect(o.change.audit_events.added[0]).toMatchObject({
    actor_user_id: o.callerId,
    target_user_id: target,
    action: 'social_association.created',
  });
}

/** Lists never show metadata or hidden associations to anyone but the user and admins. */
export function verifyListView(o: Outcome, expectedUser?: number): void {
  if (o.status !== 200) return;
  expect(Array.isArray(o.body)).toBe(true);
  for (const item of o.body as Record<string, unknown>[]) {
    if (expectedUser !== undefined) expect(item.user_id).toBe(expectedUser);
    if ('metadata' in item || item.show_in_profile !== true) {
      expect(
        o.isAdmin || o.callerId === item.user_id,
        `private view of user ${String(item.user_id)} for caller ${o.callerId}`,
      ).toBe(true);
    }
  }
}

export const CREATE_FIELDS: BodyField[] = [
  'ext_id',
  'provider',
  'user_id',
  'profile_url',
  'metadata',
  'show_in_profile',
];

export const ROUTES: FuzzRoute[] = [
  {
    name: 'POST /api/v2/user/{id}/provider/',
    inputs: { body: CREATE_FIELDS, query: [] },
    method: 'POST',
    path: (r) => `/api/v2/user/${r.id}/provider${slash(r)}`,
    verify: (o) => verifyCreate(o, pathId(o.request)),
  },
  {
    name: 'POST /api/v2/user/provider/',
    inputs: { body: CREATE_FIELDS, query: [] },
    method: 'POST',
    path: (r) => `/api/v2/user/provider${slash(r)}`,
    verify: (o) => verifyCreate(o, parseId(jsonBody(o.request).user_id)),
  },
  {
    name: 'GET /api/v2/user/{id}/provider/',
    inputs: { body: [], query: [] },
    method: 'GET',
    path: (r) => `/api/v2/user/${r.id}/provider${slash(r)}`,
    public: true,
    verify: (o) => verifyListView(o, pathId(o.request)),
  },
  {
    name: 'GET /api/v2/user/provider/',
    inputs: { body: [], query: ['user_id', 'provider', 'ext_id'] },
    method: 'GET',
    path: (r) => `/api/v2/user/provider${slash(r)}${r.query ? `?${r.query}` : ''}`,
    public: true,
    verify: (o) => verifyListView(o),
  },
  {
    name: 'DELETE /api/v2/user/{id}/provider/',
    inputs: { body: ['ext_id', 'provider', 'user_id'], query: ['ext_id', 'provider'] },
    method: 'DELETE',
    path: (r) => `/api/v2/user/${r.id}/provider${slash(r)}${r.query ? `?${r.query}` : ''}`,
    verify: (o) => {
      if (o.status !== 204) return;
      const target = pathId(o.request);
      expectAllowedTarget(o, target);
      expectOnly(o.change, { associationsRemoved: 1, audit: 1 });
      const removed = o.change.social_associations.removed[0];
      expect(removed?.user_id).toBe(target);
      expect(o.change.audit_events.added[0]).toMatchObject({
        actor_user_id: o.callerId,
        target_user_id: target,
        action: 'social_association.deleted',
        provider: removed?.provider,
        ext_id: removed?.ext_id,
      });
      const body = jsonBody(o.request);
      const query = new URLSearchParams(o.request.query);
      // ext_id may come as a JSON number (stored as its decimal string).
      const extId = body.ext_id ?? query.get('ext_id');
      expect(typeof extId === 'number' ? String(extId) : extId).toBe(removed?.ext_id);
      expect(body.provider ?? query.get('provider')).toBe(removed?.provider);
    },
  },
  {
    name: 'POST /api/v2/sso/signup/',
    inputs: { body: ['username', 'ext_id', 'email', 'role', 'has_usable_password'], query: [] },
    method: 'POST',
    path: (r) => `/api/v2/sso/signup${slash(r)}`,
    verify: (o) => {
      if (o.status !== 201) return;
      expect(o.isAdmin, `signup by non-admin ${o.callerId}`).toBe(true);
      expectOnly(o.change, { users: 1 });
    },
  },
  {
    name: 'GET /api/v2/user/me/',
    inputs: { body: [], query: [] },
    method: 'GET',
    path: (r) => `/api/v2/user/me${slash(r)}${r.query ? `?${r.query}` : ''}`,
    verify: (o) => {
      if (o.status === 200) expect((o.body as { id: number }).id).toBe(o.callerId);
    },
  },
  {
    name: 'GET /api/v2/audit/social-associations/',
    inputs: { body: [], query: ['user_id', 'provider', 'since', 'until', 'limit', 'cursor'] },
    method: 'GET',
    path: (r) => `/api/v2/audit/social-associations${slash(r)}${r.query ? `?${r.query}` : ''}`,
    verify: (o) => {
      if (o.status === 200) expect(o.isAdmin, `audit trail for non-admin ${o.callerId}`).toBe(true);
    },
  },
  {
    name: 'GET /api/docs-json',
    inputs: { body: [], query: [] },
    method: 'GET',
    path: (r) => `/api/docs-json${slash(r)}${r.query ? `?${r.query}` : ''}`,
    public: true,
    verify: () => undefined,
  },
  {
    name: 'GET /health/live',
    inputs: { body: [], query: [] },
    method: 'GET',
    path: (r) => `/health/live${slash(r)}${r.query ? `?${r.query}` : ''}`,
    public: true,
    verify: () => undefined,
  },
  {
    name: 'GET /health/ready',
    inputs: { body: [], query: [] },
    method: 'GET',
    path: (r) => `/health/ready${slash(r)}${r.query ? `?${r.query}` : ''}`,
    public: true,
    verify: () => undefined,
  },
];
