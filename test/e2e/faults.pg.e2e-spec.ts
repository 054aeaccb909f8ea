import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, TestApp } from '../support/create-test-app';
import { factories } from '../support/factories';
import { request, TestResponse } from '../support/http';
import { expectProblem, problems } from '../support/problem';
import { TcpProxy } from '../support/tcp-proxy';
import { tokenFor } from '../support/tokens';

/** DATABASE_TIMEOUT_MS of the app under test; the bound every request must fail within. */
const TIMEOUT_MS = 1000;
/** Scheduling, the event loop, the error path (two cores, other test files in parallel). */
const MARGIN_MS = 1500;
/** How soon after the database is back a request must succeed. */
const RECOVERY_BOUND_MS = 5000;

async function timed<T>(work: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const started = performance.now();
  const result = await work();
  return { result, ms: Math.round(performance.now() - started) };
}

/** Polls until `ok` (each try fails fast while the database is away); the time it took. */
async function timeUntil(attempt: () => Promise<TestResponse>, ok: (res: TestResponse) => boolean): Promise<number> {
  const started = performance.now();
  for (;;) {
    const res = await attempt();
    if (ok(res)) return Math.round(performance.now() - started);
    if (performance.now() - started > RECOVERY_BOUND_MS * 2) throw new Error(`no recovery: ${res.status} ${res.text}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function expectUnavailable(res: TestResponse): void {
  expectProblem(res, problems.serviceUnavailable());
  expect(res.text).not.toMatch(/ECONNREFUSED|timeout exceeded|SELECT|INSERT|DELETE FROM|127\.0\.0\.1/);
}

/**
 * The database goes away under a running service: through a TCP proxy in front of
 * the shared PostgreSQL server, so only this test's app loses it.
 */
describe('database faults (PostgreSQL)', () => {
  let proxy: TcpProxy;
  let t: TestApp;
  let f: ReturnType<typeof factories>;
  let userId: number;
  let token: string;

  beforeAll(async () => {
    const server = new URL(process.env.DATABASE_URL ?? '');
    proxy = new TcpProxy(server.hostname, Number(server.port || 5432));
    const port = await proxy.start();
    t = await createTestApp(
      { DATABASE_TIMEOUT_MS: String(TIMEOUT_MS) },
      {
        databaseUrl: (url) => {
          const viaProxy = new URL(url);
          viaProxy.hostname = '127.0.0.1';
          viaProxy.port = String(port);
          return viaProxy.toString();
        },
      },
    );
    f = factories(t);
  });
  afterAll(async () => {
    proxy.heal();
    await proxy.start();
    await t.close();
    await proxy.stop();
  });
  beforeEach(async () => {
    // Whatever an earlier test left behind, the database is back.
    proxy.heal();
    await proxy.start();
    await t.reset();
    const user = await f.makeUser();
    userId = user.id;
    token = tokenFor(userId);
    await f.link(userId, { provider: 'google', ext_id: 'g-1' });
  });

  const list = (): Promise<TestResponse> => request(t.baseUrl, 'GET', `/api/v2/user/${userId}/provider/`, { token });
  const ready = (): Promise<TestResponse> => request(t.baseUrl, 'GET', '/health/ready');

  it('database stopped: 503 at once, not ready; back: recovers without a restart', async () => {
    expect((await list()).status).toBe(200);
    await proxy.stop();

    const first = await timed(list);
    expectUnavailable(first.result);
    const writes = await timed(() =>
      Promise.all([
        request(t.baseUrl, 'DELETE', `/api/v2/user/${userId}/provider/`, {
          token,
          body: { provider: 'google', ext_id: 'g-1' },
        }),
        request(t.baseUrl, 'POST', `/api/v2/user/${userId}/provider/`, {
          token,
          body: { provider: 'github', ext_id: 'h-1' },
        }),
        request(t.baseUrl, 'GET', `/api/v2/user/${userId}/provider/`),
      ]),
    );
    writes.result.forEach(expectUnavailable);
    const notReady = await timed(ready);
    expectProblem(notReady.result, problems.notReady());
    expect((await request(t.baseUrl, 'GET', '/health/live')).status).toBe(200);

    await proxy.start();
    const recoveredMs = await timeUntil(list, (res) => res.status === 200);
    const readyMs = await timeUntil(ready, (res) => res.status === 200);
    expect((await list()).body).toEqual([expect.objectContaining({ provider: 'google', ext_id: 'g-1' })]);

    console.log(
      `[faults] database stopped (connections reset, port closed), DATABASE_TIMEOUT_MS=${TIMEOUT_MS}: ` +
        `first 503 after ${first.ms} ms; DELETE+POST+GET in parallel all 503 after ${writes.ms} ms; ` +
        `/health/ready 503 after ${notReady.ms} ms. Database back: first 200 after ${recoveredMs} ms, ` +
        `ready after ${recoveredMs + readyMs} ms, no restart.`,
    );
    expect(first.ms).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
    expect(writes.ms).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
    expect(notReady.ms).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
    expect(recoveredMs).toBeLessThan(RECOVERY_BOUND_MS);
  });

  it('database unreachable (nothing answers): every request 503 within the timeout, none hangs; then recovers', async () => {
    expect((await list()).status).toBe(200);
    proxy.blackhole();

    // More parallel requests than the pool has connections: the ones waiting for a
    // connection are bounded by the same timeout.
    const burst = await timed(() =>
      Promise.all(
        Array.from({ length: 15 }, (_, i) =>
          timed(() =>
            i % 3 === 0
              ? request(t.baseUrl, 'DELETE', `/api/v2/user/${userId}/provider/`, {
                  token,
                  body: { provider: 'google', ext_id: 'g-1' },
                })
              : list(),
          ),
        ),
      ),
    );
    for (const { result } of burst.result) expectUnavailable(result);
    const slowest = Math.max(...burst.result.map(({ ms }) => ms));
    const notReady = await timed(ready);
    expectProblem(notReady.result, problems.notReady());

    proxy.heal();
    const recoveredMs = await timeUntil(list, (res) => res.status === 200);
    const readyMs = await timeUntil(ready, (res) => res.status === 200);
    // The delete did not happen: it failed before it could commit.
    expect((await list()).body).toEqual([expect.objectContaining({ provider: 'google', ext_id: 'g-1' })]);

    console.log(
      `[faults] database unreachable (packets dropped), DATABASE_TIMEOUT_MS=${TIMEOUT_MS}: ` +
        `15 parallel requests all 503, slowest after ${slowest} ms; /health/ready 503 after ${notReady.ms} ms. ` +
        `Network back: first 200 after ${recoveredMs} ms, ready after ${recoveredMs + readyMs} ms, no restart.`,
    );
    expect(slowest).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
    expect(notReady.ms).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
    expect(recoveredMs).toBeLessThan(RECOVERY_BOUND_MS);
  });
});
