import { ChildProcess, execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import Redis from 'ioredis';
import { Client } from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { migrations } from '../../src/database/migrations';
import { createTestApp, TestApp } from '../support/create-test-app';
import { factories } from '../support/factories';
import { request, TestResponse } from '../support/http';
import { expectProblem, problems } from '../support/problem';
import { expectThrottled, me } from '../support/rate-limit';
import { buildServiceCopy, ServiceBuild } from '../support/service-build';
import { createTestDatabase, TestDatabase } from '../support/test-database';
import { sendRaw } from '../support/raw-http';
import { tokenFor } from '../support/tokens';

/**
 * Scale-out: several processes serve one PostgreSQL database and one Redis, and
 * every guarantee still holds, because none of them lives in a process. Runs when
 * DATABASE_URL and REDIS_URL are both set (see vitest.config.mts).
 */
const REDIS_URL = process.env.REDIS_URL ?? '';

const redis = new Redis(REDIS_URL, { lazyConnect: true });
const prefixes: string[] = [];
/** A Redis key prefix of its own for one group of instances, whose keys are deleted after the file. */
function redisPrefix(): string {
  const prefix = `test:scale-out:${randomUUID()}:`;
  prefixes.push(prefix);
  return prefix;
}
afterAll(async () => {
  for (const prefix of prefixes) {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
  }
  redis.disconnect();
});

/**
 * Two instances of the app in this process, on one fresh database and one Redis:
 * the second one uses the first one's database, with migrations off as in production.
 * Each has its own connection pool, transactions and Redis client; being in one process,
 * they could still share module-level state, which the cluster test at the end rules out.
 */
async function bootPair(env: Record<string, string>): Promise<[TestApp, TestApp]> {
  const one = await createTestApp(env);
  const shared = one.database.env.DATABASE_URL;
  const two = await createTestApp({ ...env, DATABASE_MIGRATIONS_RUN: 'false' }, { databaseUrl: () => shared });
  expect(two.config.db).toMatchObject({ engine: 'server', url: shared });
  return [one, two];
}

/** The second closes first: the first one's close drops the shared database under it. */
async function closePair(pair: [TestApp, TestApp] | undefined): Promise<void> {
  await pair?.[1].close();
  await pair?.[0].close();
}

const sortedStatuses = (responses: TestResponse[]): number[] => responses.map((response) => response.status).sort();

describe('two instances, one PostgreSQL, one Redis', () => {
  let pair: [TestApp, TestApp] | undefined;
  let one: TestApp;
  let f: ReturnType<typeof factories>;
  /** Request i goes to instance i % 2. */
  const via = (i: number): TestApp => pair![i % 2];

  beforeAll(async () => {
    // Rate limiting on, in Redis, as in production; high enough never to refuse here.
    pair = await bootPair({ RATE_LIMIT_PER_MINUTE: '100000', REDIS_URL, REDIS_KEY_PREFIX: redisPrefix() });
    one = pair[0];
    f = factories(one);
  });
  afterAll(() => closePair(pair));
  beforeEach(() => one.reset());

  const del = (i: number, userId: number, token: string, body: Record<string, unknown>) =>
    request(via(i).baseUrl, 'DELETE', `/api/v2/user/${userId}/provider/`, { token, body });

  async function eventsFor(action: string, provider: string, extId: string): Promise<Record<string, unknown>[]> {
    return (await f.auditEvents()).filter(
      (event) => event.action === action && event.provider === provider && event.ext_id === extId,
    );
  }

  async function rowsFor(provider: string, extId: string): Promise<{ user_id: number | string }[]> {
    return one.dataSource.query('SELECT user_id FROM social_associations WHERE provider = $1 AND ext_id = $2', [
      provider,
      extId,
    ]);
  }

  it('parallel DELETEs of one association through both: one 204, the rest 404, the row gone, one audit event (5 rounds)', async () => {
    for (let round = 0; round < 5; round++) {
      const user = await f.makeUser();
      await f.link(user.id, { provider: 'google', ext_id: `g-${round}` });
      await f.link(user.id, { provider: 'google', ext_id: `kept-${round}` });
      const token = tokenFor(user.id);

      const responses = await Promise.all(
        Array.from({ length: 16 }, (_, i) => del(i, user.id, token, { provider: 'google', ext_id: `g-${round}` })),
      );

      const context = `round ${round}: ${responses.map((response) => response.text).join(' | ')}`;
      expect(sortedStatuses(responses), context).toEqual([204, ...Array<number>(15).fill(404)]);
      for (const response of responses.filter((r) => r.status === 404)) {
        expectProblem(response, problems.notFound(/has no \S+ association/));
      }
      const winner = responses.find((response) => response.status === 204)!;
      expect(await rowsFor('google', `g-${round}`), context).toEqual([]);
      expect(await f.countAssociations(user.id), context).toBe(1);
      expect(await eventsFor('social_association.deleted', 'google', `g-${round}`), context).toEqual([
        expect.objectContaining({ request_id: winner.headers.get('x-request-id') }),
      ]);
    }
  });

  it('a passwordless user deleting both of two associations through both: one 204, one 409 (10 rounds)', async () => {
    // The last-sign-in-method rule holds under the user's row lock, which PostgreSQL holds for every process.
    for (let round = 0; round < 10; round++) {
      const user = await f.makeUser({ has_usable_password: false });
      await f.link(user.id, { provider: 'google', ext_id: `g-${round}` });
      await f.link(user.id, { provider: 'github', ext_id: `h-${round}` });
      const token = tokenFor(user.id);

      const responses = await Promise.all([
        del(0, user.id, token, { provider: 'google', ext_id: `g-${round}` }),
        del(1, user.id, token, { provider: 'github', ext_id: `h-${round}` }),
      ]);

      expect(sortedStatuses(responses), `round ${round}`).toEqual([204, 409]);
      expectProblem(
        responses.find((response) => response.status === 409)!,
        problems.lastSignInMethod(),
      );
      expect(await f.countAssociations(user.id), `round ${round}`).toBe(1);
    }
  });

  it('parallel POSTs of one identity by two users through both: one 201, the rest 409, one row, one audit event (5 rounds)', async () => {
    const users = [await f.makeUser(), await f.makeUser()];
    for (let round = 0; round < 5; round++) {
      const extId = `contested-${round}`;
      // Every instance gets requests of both users: i % 2 picks the instance, (i >> 1) % 2 the user.
      const responses = await Promise.all(
        Array.from({ length: 16 }, (_, i) => {
          const user = users[(i >> 1) % 2];
          return request(via(i).baseUrl, 'POST', `/api/v2/user/${user.id}/provider/`, {
            token: tokenFor(user.id),
            body: { provider: 'github', ext_id: extId },
          });
        }),
      );

      const context = `round ${round}: ${responses.map((response) => response.text).join(' | ')}`;
      expect(sortedStatuses(responses), context).toEqual([201, ...Array<number>(15).fill(409)]);
      for (const response of responses.filter((r) => r.status === 409)) {
        expectProblem(response, problems.alreadyLinked());
      }
      const winner = responses.find((response) => response.status === 201)!;
      expect(winner.body).toMatchObject({ provider: 'github', ext_id: extId });
      const rows = await rowsFor('github', extId);
      expect(
        rows.map((row) => Number(row.user_id)),
        context,
      ).toEqual([winner.body.user_id]);
      expect(await eventsFor('social_association.created', 'github', extId), context).toEqual([
        expect.objectContaining({ request_id: winner.headers.get('x-request-id') }),
      ]);
    }
  });
});

describe('the rate limit, counted in Redis for both instances', () => {
  const LIMIT = 6;
  let pair: [TestApp, TestApp] | undefined;
  let prefix: string;

  beforeAll(async () => {
    prefix = redisPrefix();
    pair = await bootPair({ RATE_LIMIT_PER_MINUTE: String(LIMIT), REDIS_URL, REDIS_KEY_PREFIX: prefix });
  });
  afterAll(() => closePair(pair));

  it('one user alternating between the instances exhausts one budget: the 429 comes after LIMIT requests in all', async () => {
    const [one, two] = pair!;
    const user = await factories(one).makeUser();
    const token = tokenFor(user.id);

    // Each instance sees only LIMIT / 2 of these: with per-process counters none would be refused.
    for (let i = 0; i < LIMIT; i++) {
      const res = await me(pair![i % 2], token);
      expect(res.status, `request ${i + 1}: ${res.text}`).toBe(200);
      expect(res.headers.get('x-ratelimit-limit')).toBe(String(LIMIT));
      expect(res.headers.get('x-ratelimit-remaining'), `request ${i + 1}`).toBe(String(LIMIT - 1 - i));
    }
    expectThrottled(await me(pair![LIMIT % 2], token));
    expectThrottled(await me(pair![(LIMIT + 1) % 2], token));
    // Another user's budget is untouched, on either instance.
    const other = tokenFor((await factories(two).makeUser()).id);
    expect((await me(two, other)).status).toBe(200);
    expect((await me(one, other)).status).toBe(200);

    expect(await redis.keys(`${prefix}rate-limit:{default:user:${user.id}}:*`)).toEqual([
      `${prefix}rate-limit:{default:user:${user.id}}:hits`,
    ]);
  });
});

/* ------------------------------------------------------------------------------------------------
 * CLUSTER_WORKERS: the built service (tsc output, as in production) in a child process.
 * ---------------------------------------------------------------------------------------------- */

interface LogLine {
  msg?: string;
  pid?: number;
  reqId?: string;
  worker_pid?: number;
  time?: string;
  [field: string]: unknown;
}

/** A request on a connection of its own (node:cluster hands out connections, not requests), with our request id. */
async function send(
  port: number,
  method: string,
  path: string,
  options: { requestId: string; token?: string; body?: unknown },
): Promise<{ status?: number; error?: string }> {
  const { status, error } = await sendRaw(port, method, path, {
    headers: {
      'x-request-id': options.requestId,
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
    },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  return error === undefined ? { status } : { error };
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => done(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Pids of the processes whose parent is `ppid` (`ps --ppid`), sorted. */
function childPids(ppid: number): number[] {
  try {
    return execFileSync('ps', ['--ppid', String(ppid), '-o', 'pid='], { encoding: 'utf8' })
      .split('\n')
      .map((line) => Number(line.trim()))
      .filter((pid) => pid > 0)
      .sort((a, b) => a - b);
  } catch {
    return []; // ps exits 1 when there are none
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const sorted = (values: Iterable<number>): number[] => [...values].sort((a, b) => a - b);

describe('CLUSTER_WORKERS=2', () => {
  let build: ServiceBuild | undefined;
  let database: TestDatabase | undefined;
  let primary: ChildProcess | undefined;
  /** Every worker pid the test saw, killed in afterAll should one survive a failed test. */
  const workerPids = new Set<number>();

  beforeAll(async () => {
    build = buildServiceCopy();
    database = await createTestDatabase();
  }, 180_000);

  afterAll(async () => {
    if (primary && primary.exitCode === null && primary.signalCode === null) primary.kill('SIGKILL');
    for (const pid of workerPids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    await database?.drop();
  });

  it('two worker processes answer on one port; a killed worker is restarted; SIGTERM stops all, exit code 0', async () => {
    const port = await freePort();
    const service = build!.start({
      PORT: String(port),
      CLUSTER_WORKERS: '2',
      // Long enough that a primary which did not wait for its workers would leave them running.
      SHUTDOWN_DRAIN_MS: '500',
      RATE_LIMIT_PER_MINUTE: '100000',
      REDIS_URL,
      REDIS_KEY_PREFIX: redisPrefix(),
      ...database!.env,
    });
    const { child, exited } = service;
    const logs = service.logs as LogLine[];
    const stderr = (): string => service.stderr();
    primary = child;
    const primaryPid = child.pid;
    if (primaryPid === undefined) throw new Error(`the service did not start: ${stderr()}`);
    const logged = (msg: string): LogLine[] => logs.filter((entry) => entry.msg === msg);
    async function until(what: string, condition: () => boolean, timeoutMs = 20_000): Promise<void> {
      const deadline = performance.now() + timeoutMs;
      while (!condition()) {
        if (child.exitCode !== null || performance.now() > deadline) {
          throw new Error(`${what}: not within ${timeoutMs} ms (exit code ${child.exitCode}); stderr: ${stderr()}`);
        }
        await sleep(20);
      }
    }
    const listeningPids = () => new Set(logged('social associations service listening').map((entry) => entry.pid!));

    // 1. The primary migrates once, then two workers listen, with migrations off.
    await until('two workers listening', () => listeningPids().size === 2);
    const workers = childPids(primaryPid);
    for (const pid of workers) workerPids.add(pid);
    expect(workers).toEqual(sorted(listeningPids()));
    expect(workers).not.toContain(primaryPid);
    expect(logged('database migrations applied')).toEqual([
      expect.objectContaining({ migrations: migrations.map((migration) => migration.name) }),
    ]);
    for (const pid of workers) {
      const environment = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      expect(environment, `worker ${pid}`).toContain('DATABASE_MIGRATIONS_RUN=false');
    }

    // 2. Requests (database and Redis behind each) are answered by both workers.
    const db = new Client({ connectionString: database!.env.DATABASE_URL });
    await db.connect();
    onTestFinished(() => db.end());
    const rows = (await db.query<{ id: string }>("INSERT INTO users (username) VALUES ('cluster-test') RETURNING id"))
      .rows;
    const userId = Number(rows[0].id);
    const token = tokenFor(userId);
    const path = `/api/v2/user/${userId}/provider/`;
    /** The worker that served a request: the pid on its request log line. */
    const servedBy = (requestId: string): number => logs.find((entry) => entry.reqId === requestId)!.pid!;
    /** Sends `count` requests one after the other; returns the worker that served each. */
    async function burst(name: string, count: number): Promise<number[]> {
      const ids = Array.from({ length: count }, (_, i) => `${name}-${i}`);
      for (const requestId of ids) {
        expect(await send(port, 'GET', path, { requestId, token }), requestId).toEqual({ status: 200 });
      }
      await until(`log lines of ${name}`, () => ids.every((id) => logs.some((entry) => entry.reqId === id)));
      return ids.map(servedBy);
    }
    expect(sorted(new Set(await burst('first', 10)))).toEqual(workers);

    // Parallel DELETEs of one association, spread over both workers: one 204, the rest 404, one audit event.
    for (const extId of ['contested', 'kept']) {
      const created = await send(port, 'POST', path, {
        requestId: `create-${extId}`,
        token,
        body: { provider: 'google', ext_id: extId },
      });
      expect(created).toEqual({ status: 201 });
    }
    const raceIds = Array.from({ length: 12 }, (_, i) => `race-${i}`);
    const race = await Promise.all(
      raceIds.map((requestId) =>
        send(port, 'DELETE', path, { requestId, token, body: { provider: 'google', ext_id: 'contested' } }),
      ),
    );
    expect(race.map((answer) => answer.status ?? answer.error).sort()).toEqual([204, ...Array<number>(11).fill(404)]);
    await until('log lines of the race', () => raceIds.every((id) => logs.some((entry) => entry.reqId === id)));
    expect(sorted(new Set(raceIds.map(servedBy)))).toEqual(workers);
    const associations = await db.query<{ ext_id: string }>('SELECT ext_id FROM social_associations');
    expect(associations.rows).toEqual([{ ext_id: 'kept' }]);
    const deleted = await db.query<{ request_id: string }>(
      "SELECT request_id FROM audit_events WHERE action = 'social_association.deleted'",
    );
    expect(deleted.rows).toEqual([{ request_id: raceIds[race.findIndex((answer) => answer.status === 204)] }]);

    // 3. SIGKILL one worker: the other keeps answering, the primary starts a new one after a delay.
    const [victim, survivor] = workers;
    const killedAt = Date.now();
    process.kill(victim, 'SIGKILL');
    await until('the death noticed', () =>
      logged('cluster worker exited; restarting it').some((entry) => entry.worker_pid === victim),
    );
    expect(await burst('while-down', 6)).not.toContain(victim);
    await until('a replacement listening', () => listeningPids().size === 3);
    const replacement = [...listeningPids()].find((pid) => !workers.includes(pid))!;
    workerPids.add(replacement);
    expect(isAlive(victim)).toBe(false);
    expect(childPids(primaryPid)).toEqual(sorted([survivor, replacement]));
    // Restarted after a backoff, not in a tight loop.
    const restarted = logged('cluster worker started').find((entry) => entry.worker_pid === replacement)!;
    expect(Date.parse(restarted.time!) - killedAt).toBeGreaterThanOrEqual(900);
    expect(sorted(new Set(await burst('after-restart', 10)))).toEqual(sorted([survivor, replacement]));

    // 4. SIGTERM to the primary: forwarded, both workers drain and exit, then the primary exits 0.
    const signalledAt = performance.now();
    child.kill('SIGTERM');
    const code = await exited;
    const exitMs = Math.round(performance.now() - signalledAt);
    expect(code, stderr()).toBe(0);
    for (const pid of [survivor, replacement]) {
      expect(isAlive(pid), `worker ${pid} left behind`).toBe(false);
      const shutdowns = logs.filter((e) => e.pid === pid && e.msg === 'shutting down: finishing in-flight requests');
      expect(shutdowns, `worker ${pid} shut down gracefully`).toHaveLength(1);
    }
    expect(exitMs).toBeGreaterThanOrEqual(500); // the workers' drain: the primary waited for them
    expect(await send(port, 'GET', path, { requestId: 'after-exit', token })).toEqual({ error: 'ECONNREFUSED' });
    console.log(
      `[scale-out] workers ${workers.join(', ')}; killed ${victim}, replaced by ${replacement} ` +
        `${Date.parse(restarted.time!) - killedAt} ms later; SIGTERM to exit code ${code} in ${exitMs} ms`,
    );
  }, 90_000);
});
