import { Agent, IncomingHttpHeaders, request as httpRequest } from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DbDiff, DbSnapshot, describeDiff, diff, isEmptyDiff, Row, snapshot } from '../support/db-snapshot';
import { signToken, accessClaims, tokenFor } from '../support/tokens';
import { Actor, arbitraries, Fixture, FuzzRequest, FuzzRoute } from '../support/fuzz/requests';
import { ROUTES } from '../support/fuzz/routes';
import { REGRESSIONS } from '../support/fuzz/regressions';
import { useTestApp } from '../support/use-test-app';

/**
 * Property-based fuzzing of every route over real HTTP: arbitrary JSON bodies,
 * query strings, path ids and headers, from every kind of caller. For each
 * request:
 *   - the status is never 5xx, and every error is problem+json;
 *   - the database (every row of users, social_associations, audit_events) is
 *     unchanged, unless the request succeeded as a write, and then exactly the
 *     rows that write names changed, for a caller allowed to make it;
 *   - reads never show private data (metadata, hidden associations) to anyone
 *     but the user and admins.
 * FUZZ_RUNS (default 1000) and FUZZ_SEED override the run count and the seed.
 * Every failure ever found is kept in REGRESSIONS and replayed first.
 */
const NUM_RUNS = Number(process.env.FUZZ_RUNS ?? 1000);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const ROUTE_TIMEOUT_MS = 180_000;

describe('fuzzing every route over HTTP (fast-check)', () => {
  // Database timeouts (503) are tested in faults.pg.e2e-spec; here a slow, loaded CI machine must
  // not turn into a false 5xx, nor a write that commits after its request already timed out.
  // The data is arranged once: every run puts the database back to its baseline (settle).
  const t = useTestApp({ DATABASE_TIMEOUT_MS: '60000' }, { reset: false });
  const f = t.f;
  let fx: Fixture;
  let baseline: DbSnapshot;
  let tokens: Record<Actor, string | undefined>;

  beforeAll(async () => {
    await t.reset();
    const self = await f.makeUser();
    const lockedOut = await f.makeUser({ has_usable_password: false });
    const other = await f.makeUser({ role: 'moderator' });
    const admin = await f.makeAdmin();
    const deactivated = await f.makeUser();
    const deleted = await f.makeUser();
    const identities = [
      { provider: 'google', ext_id: '1001', show_in_profile: true, profile_url: 'https://example.com/u/1' },
      { provider: 'github', ext_id: 'gh-self' },
      { provider: 'external', ext_id: 'x-self', metadata: { plan: 'gold' } },
    ];
    for (const identity of identities) await f.link(self.id, identity);
    await f.link(lockedOut.id, { provider: 'keycloak', ext_id: 'kc-locked' });
    await f.link(other.id, { provider: 'twitter', ext_id: 'tw-other', show_in_profile: true });
    await f.link(deactivated.id, { provider: 'google', ext_id: 'g-deactivated' });
    await f.deactivate(deactivated.id);
    await f.deleteUser(deleted.id);
    fx = {
      self: self.id,
      lockedOut: lockedOut.id,
      other: other.id,
      admin: admin.id,
      deactivated: deactivated.id,
      deleted: deleted.id,
      identities: [
        ...identities.map(({ provider, ext_id }) => ({ provider, ext_id })),
        { provider: 'keycloak', ext_id: 'kc-locked' },
        { provider: 'twitter', ext_id: 'tw-other' },
        { provider: 'google', ext_id: 'g-deactivated' },
      ],
    };
    tokens = {
      anonymous: undefined,
      self: tokenFor(fx.self),
      'locked-out': tokenFor(fx.lockedOut),
      other: tokenFor(fx.other),
      admin: tokenFor(fx.admin),
      deactivated: tokenFor(fx.deactivated),
      deleted: tokenFor(fx.deleted),
      garbage: signToken(accessClaims(fx.admin, { token_type: 'refresh' })),
    };
    baseline = await snapshot(t.dataSource);
  });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  afterAll(() => agent.destroy());

  const CALLERS: Partial<Record<Actor, keyof Fixture>> = {
    self: 'self',
    'locked-out': 'lockedOut',
    other: 'other',
    admin: 'admin',
  };

  async function send(
    route: FuzzRoute,
    r: FuzzRequest,
  ): Promise<{ status: number; contentType: string; body: unknown; requestId: string | null }> {
    const headers: Record<string, string> = { ...r.headers };
    const authorization =
      r.actor === 'garbage' ? r.garbageAuthorization : tokens[r.actor] && `Bearer ${tokens[r.actor]}`;
    if (authorization) headers.authorization = authorization;
    let body: string | undefined;
    if (route.method !== 'GET' && r.body.kind !== 'none') {
      body = r.body.kind === 'json' ? JSON.stringify(r.body.value) : r.body.text;
      if (r.contentType !== null) headers['content-type'] = r.contentType;
    }
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
    const response = await exchange(route.method, route.path(r), headers, body);
    const contentType = response.headers['content-type'] ?? '';
    let parsed: unknown = response.text;
    if (/json/.test(contentType) && response.text) parsed = JSON.parse(response.text);
    const requestId = response.headers['x-request-id'];
    return {
      status: response.status,
      contentType,
      body: parsed,
      requestId: typeof requestId === 'string' ? requestId : null,
    };
  }

  /**
   * One request over node:http with keep-alive (a third of fetch's client-side
   * cost, which matters at 10,000 requests). A keep-alive socket the server
   * closed just before we wrote to it is retried once, as HTTP clients do.
   */
  function exchange(
    method: string,
    path: string,
    headers: Record<string, string>,
    body: string | undefined,
    retry = true,
  ): Promise<{ status: number; headers: IncomingHttpHeaders; text: string }> {
    const url = new URL(path, t.baseUrl);
    // The path as generated when node:http can send it as is: URL would resolve dot
    // segments ('.', '..', '%2e%2e') and so send the request to another route than
    // the one whose rules judge the answer. Attackers need not normalize either.
    const target = /^[\u0021-\u00ff]*$/.test(path) ? path : `${url.pathname}${url.search}`;
    return new Promise((resolve, reject) => {
      const req = httpRequest({ agent, host: url.hostname, port: url.port, method, path: target, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      });
      req.on('error', (error: NodeJS.ErrnoException) => {
        if (retry && req.reusedSocket && error.code === 'ECONNRESET') {
          exchange(method, path, headers, body, false).then(resolve, reject);
        } else {
          reject(error);
        }
      });
      req.end(body);
    });
  }

  /** Puts the database back to the baseline after an allowed write (and takes a new baseline). */
  async function settle(change: DbDiff): Promise<void> {
    const ids = (rows: Row[]): string => rows.map((row) => Number(row.id)).join(',');
    if (change.audit_events.added.length)
      await t.dataSource.query(`DELETE FROM audit_events WHERE id IN (${ids(change.audit_events.added)})`);
    if (change.social_associations.added.length) {
      await t.dataSource.query(
        `DELETE FROM social_associations WHERE id IN (${ids(change.social_associations.added)})`,
      );
      // Removed behind the service's back: its users' counts follow by hand.
      await t.dataSource.query(
        `UPDATE users u SET association_count = (SELECT count(*) FROM social_associations a WHERE a.user_id = u.id)`,
      );
    }
    if (change.users.added.length)
      await t.dataSource.query(`DELETE FROM users WHERE id IN (${ids(change.users.added)})`);
    for (const row of change.social_associations.removed) {
      await f.link(Number(row.user_id), {
        provider: String(row.provider),
        ext_id: String(row.ext_id),
        profile_url: (row.profile_url as string | null) ?? null,
        metadata: typeof row.metadata === 'string' ? (JSON.parse(row.metadata) as Record<string, unknown>) : null,
        show_in_profile: Boolean(row.show_in_profile),
      });
    }
    baseline = await snapshot(t.dataSource);
  }

  async function check(route: FuzzRoute, r: FuzzRequest): Promise<void> {
    const response = await send(route, r);
    const change = diff(baseline, await snapshot(t.dataSource));
    try {
      expect(
        response.status,
        `5xx: ${JSON.stringify(response.body)}; rows changed: ${describeDiff(change)}`,
      ).toBeLessThan(500);
      if (response.status >= 400 && response.status !== 431) {
        expect(response.contentType, JSON.stringify(response.body)).toMatch(/^application\/problem\+json/);
        expect(response.body).toMatchObject({ status: response.status, request_id: response.requestId });
      }
      const callerKey = CALLERS[r.actor];
      const callerId = callerKey ? (fx[callerKey] as number) : undefined;
      if (!route.public && callerId === undefined) {
        expect(response.status < 200 || response.status >= 300, `${r.actor} got ${response.status}`).toBe(true);
      }
      const writeSucceeded = route.method !== 'GET' && response.status >= 200 && response.status < 300;
      if (!writeSucceeded) {
        expect(isEmptyDiff(change), `status ${response.status} changed rows: ${describeDiff(change)}`).toBe(true);
      }
      route.verify(
        { request: r, status: response.status, body: response.body, change, callerId, isAdmin: r.actor === 'admin' },
        fx,
      );
    } finally {
      // Back to the baseline, also after a failure: the next run and fast-check's shrinking start clean.
      if (!isEmptyDiff(change)) await settle(change);
    }
  }

  describe.each(ROUTES)('$name', (route) => {
    it(
      `never answers 5xx nor changes a row it should not (${NUM_RUNS} runs)`,
      async () => {
        baseline = await snapshot(t.dataSource);
        const { request } = arbitraries(fx, route.inputs);
        const examples = REGRESSIONS.filter((regression) => regression.route === route.name).map(
          (regression): [FuzzRequest] => [regression.request],
        );
        await fc.assert(
          fc.asyncProperty(request, (r) => check(route, r)),
          { numRuns: NUM_RUNS, examples, ...(SEED === undefined ? {} : { seed: SEED }) },
        );
      },
      ROUTE_TIMEOUT_MS,
    );
  });
});
