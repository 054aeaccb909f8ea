import { ChildProcess, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { migrations } from '../../src/database/migrations';
import { buildServiceCopy, ServiceBuild } from '../support/service-build';
import { createTestDatabase, TestDatabase } from '../support/test-database';
import { sendRaw } from '../support/raw-http';
import { tokenFor } from '../support/tokens';
import { useRedisPrefixes } from '../support/redis-prefixes';

/**
 * Scale-out, CLUSTER_WORKERS: the built service (tsc output, as in production) in a child
 * process whose workers share one port, one PostgreSQL database and one Redis. Runs when
 * DATABASE_URL and REDIS_URL are both set (see vitest.config.mts).
 */
const REDIS_URL = process.env.REDIS_URL ?? '';
const { prefix: redisPrefix } = useRedisPrefixes(REDIS_URL, 'scale-out');

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
