import { ChildProcess } from 'node:child_process';
import { Agent, ClientRequest, request as httpRequest } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServiceCopy, ServiceBuild } from '../support/service-build';
import { createTestDatabase, queryTestDatabase, TestDatabase } from '../support/test-database';
import { RawOutcome, sendRaw } from '../support/raw-http';
import { tokenFor } from '../support/tokens';

type Outcome = RawOutcome;

/** One request on `agent` (keep-alive) or on a connection of its own; never rejects. */
const send = (
  port: number,
  method: string,
  path: string,
  options: { agent?: Agent; token?: string; body?: string } = {},
) =>
  sendRaw(port, method, path, {
    agent: options.agent,
    headers: options.token ? { authorization: `Bearer ${options.token}` } : {},
    body: options.body,
  });

/**
 * A request whose body arrives in two parts: in flight from `started` (the server
 * has taken its headers: it answered `100 Continue`) until `finish()` sends the rest.
 */
function slowRequest(port: number, path: string, token: string, body: string) {
  let req!: ClientRequest;
  let markStarted!: () => void;
  const started = new Promise<void>((resolve) => (markStarted = resolve));
  const outcome = new Promise<Outcome>((done) => {
    req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path,
        agent: new Agent({ keepAlive: true }),
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          expect: '100-continue',
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => done({ status: res.statusCode, connection: res.headers.connection, body: text }));
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) => done({ error: error.code ?? error.message }));
    req.on('continue', () => {
      req.write(body.slice(0, 10));
      markStarted();
    });
    req.flushHeaders();
  });
  return { started, outcome, finish: () => req.end(body.slice(10)) };
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await sleep(10);
}

/** SHUTDOWN_DRAIN_MS of the server: how long it answers 503 before closing the listener. */
const DRAIN_MS = 1000;

const isReset = (outcome: Outcome): boolean => outcome.error !== undefined && outcome.error !== 'ECONNREFUSED';

/**
 * The built server (tsc output, as in production) in a child process: SIGTERM
 * while requests are running and more keep coming.
 */
describe('SIGTERM under load', () => {
  let build: ServiceBuild | undefined;
  let database: TestDatabase;
  let server: ChildProcess | undefined;

  beforeAll(async () => {
    build = buildServiceCopy();
    database = await createTestDatabase();
  }, 180_000);

  afterAll(async () => {
    if (server && server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
    await database?.drop();
  });

  async function startServer(): Promise<{
    port: number;
    logs: Record<string, unknown>[];
    exited: Promise<number | null>;
  }> {
    const service = build!.start({ PORT: '0', SHUTDOWN_DRAIN_MS: String(DRAIN_MS), ...database.env });
    server = service.child;
    const { logs, exited } = service;
    const port = await service.listening();
    return { port, logs, exited };
  }

  async function seedUser(): Promise<number> {
    const rows = await queryTestDatabase<{ id: number }>(
      database,
      "INSERT INTO users (username) VALUES ('shutdown-test') RETURNING id",
    );
    return rows[0].id;
  }

  it('in-flight requests finish, new ones get 503 then are refused, no connection is reset, exit code 0', async () => {
    const { port, logs, exited } = await startServer();
    const userId = await seedUser();
    const token = tokenFor(userId);
    const path = `/api/v2/user/${userId}/provider/`;

    // Load: keep-alive clients, each sending its next request as soon as the last is
    // answered, until the server says 503 (as a load balancer takes an instance out).
    let loading = true;
    const load: Outcome[] = [];
    const workers = Array.from({ length: 6 }, async () => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      while (loading) {
        const outcome = await send(port, 'GET', path, { agent, token });
        load.push(outcome);
        if (outcome.error || outcome.status === 503) break;
      }
      agent.destroy();
    });
    // In flight: requests whose bodies are still arriving when the signal comes.
    const slow = Array.from({ length: 8 }, (_, i) =>
      slowRequest(port, path, token, JSON.stringify({ provider: 'google', ext_id: `in-flight-${i}` })),
    );
    await Promise.all(slow.map((request) => request.started));
    await sleep(200);
    const beforeSignal = load.length;
    expect(beforeSignal).toBeGreaterThan(0);

    const signalledAt = performance.now();
    server!.kill('SIGTERM');
    await until(() => logs.some((entry) => entry.msg === 'shutting down: finishing in-flight requests'));
    // During the drain: a new connection is answered 503 (problem+json) and closed.
    const late = await send(port, 'GET', path, { token });
    expect(late.status, JSON.stringify(late)).toBe(503);
    expect(late.connection).toBe('close');
    expect(JSON.parse(late.body!)).toMatchObject({ status: 503, errors: [{ code: 'service_unavailable' }] });

    // In-flight requests complete, during the drain and after the listener has closed.
    for (const request of slow.slice(0, 4)) request.finish();
    await sleep(DRAIN_MS + 200);
    for (const request of slow.slice(4)) request.finish();
    const finished = await Promise.all(slow.map((request) => request.outcome));
    for (const outcome of finished) {
      expect(outcome.status, JSON.stringify(outcome)).toBe(201);
      expect(outcome.connection).toBe('close');
    }

    const code = await exited;
    const exitMs = Math.round(performance.now() - signalledAt);
    loading = false;
    await Promise.all(workers);
    const refused = await send(port, 'GET', path, { token });

    const outcomes = new Map<string, number>();
    for (const outcome of load) {
      const key = outcome.error ?? String(outcome.status);
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    }
    console.log(
      `[shutdown] load: ${load.length} requests (${beforeSignal} before SIGTERM) on 6 keep-alive connections: ` +
        `${JSON.stringify(Object.fromEntries(outcomes))}; 8 in-flight requests: ${finished.map((o) => o.status).join(',')}; ` +
        `new connection during the drain: ${late.status}, after exit: ${refused.error ?? refused.status}; ` +
        `exit code ${code}, ${exitMs} ms after SIGTERM (drain ${DRAIN_MS} ms)`,
    );
    expect(code).toBe(0);
    expect(load.filter(isReset)).toEqual([]);
    for (const outcome of load) expect([200, 503]).toContain(outcome.status);
    expect(refused.error).toBe('ECONNREFUSED');
    // Every request was logged before the process exited (the log is flushed on exit).
    expect(logs.filter((entry) => entry.method === 'POST' && entry.status === 201)).toHaveLength(8);
  });
});
