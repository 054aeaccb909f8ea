import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../support/http';
import { ServiceProcess, useServiceProcess } from '../support/service-build';
import { queryTestDatabase } from '../support/test-database';
import { tokenFor } from '../support/tokens';
import { WebhookReceiver } from '../support/webhook-receiver';

/**
 * Webhooks across a crash: the built service is SIGKILLed in the middle of a burst of
 * deletes and started again on the same database; every delete that committed is then
 * delivered (at least once), in commit order per user.
 *
 * Runs on both engines. On the embedded one (DATABASE_PATH in a temporary folder) the
 * test reads and seeds the database as the operator CLI does: through the running
 * service's socket (queryTestDatabase), never while no service runs.
 */
const USERS = 25;
const PER_USER = 20;
const TOTAL = USERS * PER_USER;
/** The kill comes once this many deletes were answered 204: the burst is cut in the middle. */
const KILL_AFTER = 200;
/** Requests in flight at once, creates and deletes. */
const CLIENTS = 12;
/** The bound of every wait (generous: a loaded 2-core machine). */
const WAIT_MS = 120_000;
const TIMEOUT_MS = 2000;
const RECEIVER_DELAY_MS = 100;
const WEBHOOKS = '/api/v2/webhooks/';
const DELETED = 'social_association.deleted';

function bounded<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new Error(`still waiting after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Runs `work` on every item, `parallel` at a time, until the items run out or `stop()` says so. */
async function pool<T>(items: readonly T[], parallel: number, work: (item: T) => Promise<void>, stop = () => false) {
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < items.length && !stop()) await work(items[next++]);
    }),
  );
}

interface AuditRow {
  id: number;
  target_user_id: number;
  provider: string;
  ext_id: string;
}

describe('webhooks: the service SIGKILLed in the middle of a burst of deletes', () => {
  const processes = useServiceProcess();
  let receiver: WebhookReceiver;
  beforeAll(async () => {
    receiver = await WebhookReceiver.start();
    // Each answer takes a moment, as a real receiver's does: the service always has attempts in flight
    // (its 4 to one endpoint), so the kill cuts some of them, answered or not yet, and their leases must run out.
    receiver.delayMs = RECEIVER_DELAY_MS;
  });
  afterAll(() => receiver?.close());

  const sql = <R>(text: string, values: unknown[] = []): Promise<R[]> =>
    queryTestDatabase<R>(processes.database, text, values);

  const start = async (): Promise<{ service: ServiceProcess; baseUrl: string }> => {
    const service = processes.start({
      PORT: '0',
      ...processes.database.env,
      WEBHOOKS_ALLOW_PRIVATE_NETWORKS: 'true',
      WEBHOOK_TIMEOUT_MS: String(TIMEOUT_MS),
      // Long: no event is given up here; the receiver always answers 200.
      WEBHOOK_RETRY_PERIOD_SECONDS: '3600',
    });
    const port = await bounded(service.listening(), 'the service to listen');
    return { service, baseUrl: `http://127.0.0.1:${port}` };
  };

  /** On a server, the killed process's sessions end a moment after it (a running statement finishes first). */
  const killedSessionsEnded = async (): Promise<void> => {
    if (processes.database.kind !== 'server') return;
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const [{ n }] = await sql<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
      );
      if (n === 0) return;
      if (Date.now() > deadline) throw new Error(`the killed service's ${n} sessions still there after ${WAIT_MS} ms`);
      await sleep(50);
    }
  };

  it(`${TOTAL} deletes, killed after ${KILL_AFTER} answers: after a restart every committed delete is delivered, in order per user`, async () => {
    // --- The first run: users, their associations, then the endpoint.
    const first = await start();
    const run = randomUUID().slice(0, 8);
    const [admin] = await sql<{ id: number }>("INSERT INTO users (username, role) VALUES ($1, 'admin') RETURNING id", [
      `admin-${run}`,
    ]);
    const users = (
      await sql<{ id: number }>(
        "INSERT INTO users (username) SELECT 'crash-' || g || '-' || $2 FROM generate_series(1, $1::int) g RETURNING id",
        [USERS, run],
      )
    ).map((row) => row.id);
    expect(users).toHaveLength(USERS);
    // Round robin over the users: each user's deletes are spread over the whole burst, several in flight at once.
    const targets = Array.from({ length: TOTAL }, (_, i) => ({
      userId: users[i % USERS],
      extId: `crash-${i % USERS}-${Math.floor(i / USERS)}`,
    }));
    const path = (userId: number) => `/api/v2/user/${userId}/provider/`;
    const body = (extId: string) => ({ provider: 'google', ext_id: extId });

    // The associations are created before the endpoint exists: their events are not its (their transactions
    // ended before it was registered), so what it gets is exactly the burst's deletes, and the kill falls
    // while the delivery loop is busy with deletes only.
    await bounded(
      pool(targets, CLIENTS, async ({ userId, extId }) => {
        const res = await request(first.baseUrl, 'POST', path(userId), { token: tokenFor(userId), body: body(extId) });
        expect(res.status, res.text).toBe(201);
      }),
      `${TOTAL} creates`,
    );
    const adminToken = tokenFor(admin.id);
    const subscribed = await request(first.baseUrl, 'POST', WEBHOOKS, {
      token: adminToken,
      body: { url: receiver.url, description: 'crash test' },
    });
    expect(subscribed.status, subscribed.text).toBe(201);
    const { id: endpointId, secret } = subscribed.body as { id: number; secret: string };

    // --- The burst, and the kill in its middle.
    const answered: typeof targets = [];
    const otherAnswers: string[] = [];
    let cutOff = 0;
    let killed = false;
    await bounded(
      pool(
        targets,
        CLIENTS,
        async (target) => {
          try {
            const res = await request(first.baseUrl, 'DELETE', path(target.userId), {
              token: tokenFor(target.userId),
              body: body(target.extId),
            });
            if (res.status === 204) answered.push(target);
            else otherAnswers.push(`${res.status} ${res.text}`);
          } catch {
            // The connection was cut by the kill: this delete may have committed or not.
            cutOff++;
          }
          if (!killed && answered.length >= KILL_AFTER) {
            killed = true;
            first.service.child.kill('SIGKILL');
          }
        },
        () => killed,
      ),
      'the burst of deletes',
    );
    expect(killed, 'the service was killed during the burst').toBe(true);
    expect(await bounded(first.service.exited, 'the killed service to exit')).toBeNull();
    expect(otherAnswers, 'every delete answered before the kill was a 204').toEqual([]);
    await killedSessionsEnded();
    const receivedBeforeRestart = receiver.received.length;

    // --- The restart, and the wait until every committed delete has arrived and nothing is left to send.
    const restartedAt = Date.now();
    const second = await start();
    let drainedMs: number | undefined;
    let committed: AuditRow[];
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      if (second.service.child.exitCode !== null || second.service.child.signalCode !== null) {
        throw new Error(`the restarted service exited: ${second.service.stderr()}`);
      }
      committed = await sql<AuditRow>(
        'SELECT id, target_user_id, provider, ext_id FROM audit_events WHERE action = $1 ORDER BY id',
        [DELETED],
      );
      const seen = new Set(receiver.accepted().map((r) => String(r.headers['webhook-id'])));
      const missing = committed.filter((row) => !seen.has(String(row.id)));
      if (missing.length === 0 && drainedMs === undefined) drainedMs = Date.now() - restartedAt;
      const [{ busy }] = await sql<{ busy: number }>(
        `SELECT count(*)::int AS busy FROM webhook_streams
            WHERE endpoint_id = $1 AND (pending_through > delivered_through OR lease_until IS NOT NULL)`,
        [endpointId],
      );
      if (missing.length === 0 && busy === 0) break;
      const state = `${missing.length} of ${committed.length} committed deletes not delivered (first: ${missing
        .slice(0, 5)
        .map((row) => row.id)
        .join(', ')}), ${busy} streams with work left`;
      if (Date.now() > deadline) throw new Error(`after the restart, still after ${WAIT_MS} ms: ${state}`);
      await sleep(250);
    }

    // --- What was delivered.
    expect(receiver.accepted()).toHaveLength(receiver.received.length); // the receiver answered 200 throughout
    const events = receiver.verified(secret, receiver.accepted()); // throws on a bad signature
    expect(new Set(events.map((e) => e.type)), 'only deletes: the creates predate the endpoint').toEqual(
      new Set([DELETED]),
    );
    const byId = new Map(committed.map((row) => [String(row.id), row]));
    for (const event of events) {
      const row = byId.get(event.id);
      expect(row, `event ${event.id} is a committed delete`).toBeDefined();
      expect(event.data, `event ${event.id}`).toMatchObject({
        user_id: row!.target_user_id,
        provider: row!.provider,
        ext_id: row!.ext_id,
        actor_user_id: row!.target_user_id,
      });
    }
    const delivered = new Set(events.map((e) => e.id));

    // Every delete answered 204 committed, and was delivered.
    const committedKey = new Map(committed.map((row) => [`${row.target_user_id}/${row.ext_id}`, String(row.id)]));
    const answeredNotDelivered = answered.filter((t) => {
      const id = committedKey.get(`${t.userId}/${t.extId}`);
      return id === undefined || !delivered.has(id);
    });
    expect(answeredNotDelivered, 'deletes answered 204 without a delivered event').toEqual([]);
    // Every committed delete (answered or cut off by the kill) was delivered at least once.
    expect(committed.filter((row) => !delivered.has(String(row.id))).map((row) => row.id)).toEqual([]);
    // Committed deletes are exactly the rows gone: every change has its event and every event its change.
    const [{ remaining }] = await sql<{ remaining: number }>(
      'SELECT count(*)::int AS remaining FROM social_associations',
    );
    expect(remaining + committed.length).toBe(TOTAL);
    expect(committed.length).toBeGreaterThanOrEqual(answered.length);
    expect(committed.length).toBeLessThanOrEqual(answered.length + cutOff);

    // Per user, the order of first delivery is the order of the audit ids (commit order).
    const firstSeen = new Map<number, string[]>();
    for (const event of events) {
      const user = byId.get(event.id)!.target_user_id;
      const ids = firstSeen.get(user) ?? [];
      if (!ids.includes(event.id)) ids.push(event.id);
      firstSeen.set(user, ids);
    }
    for (const user of users) {
      const expected = committed.filter((row) => row.target_user_id === user).map((row) => String(row.id));
      expect(firstSeen.get(user) ?? [], `user ${user}: first deliveries in audit id order`).toEqual(expected);
    }

    // The service's own record: each event has a delivered attempt (more than one only after the crash), none given up.
    const outcomes = await sql<{ event_id: number; delivered: number; given_up: number }>(
      `SELECT event_id, count(*) FILTER (WHERE outcome = 'delivered')::int AS delivered,
                count(*) FILTER (WHERE outcome = 'given_up')::int AS given_up
           FROM webhook_deliveries WHERE endpoint_id = $1 GROUP BY event_id`,
      [endpointId],
    );
    const recorded = new Map(outcomes.map((row) => [String(row.event_id), row]));
    expect(committed.filter((row) => !(recorded.get(String(row.id))?.delivered ?? 0)).map((row) => row.id)).toEqual([]);
    expect(outcomes.filter((row) => row.given_up > 0)).toEqual([]);

    const duplicates = events.length - delivered.size;
    console.log(
      `webhooks-crash (${processes.database.kind}): ${committed.length} of ${TOTAL} deletes committed ` +
        `(${answered.length} answered 204, ${cutOff} cut off by the kill, ${receivedBeforeRestart} delivered before it), ` +
        `${duplicates} duplicate deliveries, drained ${drainedMs} ms after the restart`,
    );
  }, 300_000);
});
