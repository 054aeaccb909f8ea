import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, MockInstance, vi } from 'vitest';
import { DeliveryRepository } from '../../src/webhooks/delivery/delivery.repository';
import { bootPair, closePair } from '../support/app-pair';
import { TestApp } from '../support/create-test-app';
import { factories } from '../support/factories';
import { request } from '../support/http';
import { tokenFor } from '../support/tokens';
import { WebhookReceiver } from '../support/webhook-receiver';

/**
 * Webhooks with two instances of the service on one PostgreSQL database (a server's:
 * the embedded engine is one process's), one receiver and one endpoint: the instances
 * share the delivery work through the database, and each event is delivered once.
 */
const USERS = 30;
/** Each user links this many identities, then unlinks them: two events each. */
const PER_USER = 5;
/** Users worked on at once; each one's creates (then deletes) go in parallel, through both instances. */
const PARALLEL_USERS = 6;
/** The bound of every wait (generous: a loaded 2-core machine). */
const WAIT_MS = 120_000;
const WEBHOOKS = '/api/v2/webhooks/';

interface AuditRow {
  id: number;
  action: string;
  target_user_id: number;
  provider: string;
  ext_id: string;
}

async function pool<T>(items: readonly T[], parallel: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < items.length) await work(items[next++]);
    }),
  );
}

describe('webhooks: two instances on one PostgreSQL database', () => {
  let receiver: WebhookReceiver;
  let pair: [TestApp, TestApp] | undefined;
  let one: TestApp;
  let f: ReturnType<typeof factories>;
  const spies: MockInstance[] = [];

  beforeAll(async () => {
    receiver = await WebhookReceiver.start();
  });
  afterAll(() => receiver?.close());
  beforeAll(async () => {
    pair = await bootPair({
      WEBHOOKS_ALLOW_PRIVATE_NETWORKS: 'true',
      WEBHOOK_TIMEOUT_MS: '2000',
      // Long: no event is given up, however long the receiver fails here.
      WEBHOOK_RETRY_PERIOD_SECONDS: '3600',
    });
    one = pair[0];
    f = factories(one);
  }, 120_000);
  afterAll(() => closePair(pair));
  beforeEach(async () => {
    await one.reset();
    receiver.received.length = 0;
    receiver.mode = 200;
  });
  afterEach(() => {
    for (const spy of spies.splice(0)) spy.mockRestore();
  });

  /** How many events each instance recorded as delivered (the repository's own method, called through). */
  const countDeliveredPerInstance = (): (() => number[]) => {
    const counted = pair!.map((app) => vi.spyOn(app.app.get(DeliveryRepository), 'delivered'));
    spies.push(...counted);
    return () => counted.map((spy) => spy.mock.calls.length);
  };

  const subscribe = async (): Promise<{ id: number; secret: string; adminToken: string }> => {
    const adminToken = tokenFor((await f.makeAdmin()).id);
    const res = await request(one.baseUrl, 'POST', WEBHOOKS, { token: adminToken, body: { url: receiver.url } });
    expect(res.status, res.text).toBe(201);
    const { id, secret } = res.body as { id: number; secret: string };
    return { id, secret, adminToken };
  };

  /**
   * USERS users each link PER_USER identities and then unlink them; request n of a user goes to
   * instance n % 2, and a user's creates (then its deletes) are in flight together.
   */
  const workload = async (): Promise<number[]> => {
    const users: number[] = [];
    for (let i = 0; i < USERS; i++) users.push((await f.makeUser()).id);
    await pool(users, PARALLEL_USERS, async (userId) => {
      const token = tokenFor(userId);
      const path = `/api/v2/user/${userId}/provider/`;
      const extIds = Array.from({ length: PER_USER }, (_, k) => `u${userId}-${k}`);
      const created = await Promise.all(
        extIds.map((extId, k) =>
          request(pair![k % 2].baseUrl, 'POST', path, { token, body: { provider: 'google', ext_id: extId } }),
        ),
      );
      for (const res of created) expect(res.status, res.text).toBe(201);
      const deleted = await Promise.all(
        extIds.map((extId, k) =>
          request(pair![(k + 1) % 2].baseUrl, 'DELETE', path, { token, body: { provider: 'google', ext_id: extId } }),
        ),
      );
      for (const res of deleted) expect(res.status, res.text).toBe(204);
    });
    return users;
  };

  /** Waits until every audit event was answered 2xx by the receiver and the endpoint's streams have no work left. */
  const drained = async (endpointId: number): Promise<AuditRow[]> => {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const audit: AuditRow[] = await one.dataSource.query(
        'SELECT id, action, target_user_id, provider, ext_id FROM audit_events ORDER BY id',
      );
      const seen = new Set(receiver.accepted().map((r) => String(r.headers['webhook-id'])));
      const missing = audit.filter((row) => !seen.has(String(row.id)));
      const [{ busy }]: { busy: number }[] = await one.dataSource.query(
        `SELECT count(*)::int AS busy FROM webhook_streams
          WHERE endpoint_id = $1 AND (pending_through > delivered_through OR lease_until IS NOT NULL)`,
        [endpointId],
      );
      if (missing.length === 0 && busy === 0) return audit;
      if (Date.now() > deadline) {
        throw new Error(
          `still after ${WAIT_MS} ms: ${missing.length} of ${audit.length} events not delivered ` +
            `(first: ${missing
              .slice(0, 5)
              .map((row) => row.id)
              .join(', ')}), ${busy} streams with work left`,
        );
      }
      await sleep(100);
    }
  };

  /** The checks of both tests: each event delivered to the receiver once, signed, with its fields, in order per user. */
  const expectEachEventOnceInOrder = async (
    { id: endpointId, secret, adminToken }: { id: number; secret: string; adminToken: string },
    users: number[],
    audit: AuditRow[],
  ): Promise<{ failedAttempts: number }> => {
    expect(audit).toHaveLength(USERS * PER_USER * 2);
    const events = receiver.verified(secret, receiver.accepted()); // throws on a bad signature
    const byId = new Map(audit.map((row) => [String(row.id), row]));
    const copies = new Map<string, number>();
    for (const event of events) copies.set(event.id, (copies.get(event.id) ?? 0) + 1);
    const duplicated = [...copies].filter(([, n]) => n > 1).map(([id, n]) => `${id} x${n}`);
    expect(duplicated, 'events the receiver accepted more than once').toEqual([]);
    expect([...copies.keys()].sort(), 'the events accepted are the audit events').toEqual([...byId.keys()].sort());
    for (const event of events) {
      const row = byId.get(event.id)!;
      expect(event.type, `event ${event.id}`).toBe(row.action);
      expect(event.data, `event ${event.id}`).toMatchObject({
        user_id: row.target_user_id,
        provider: row.provider,
        ext_id: row.ext_id,
      });
    }
    // Per user, delivery order is audit id order (commit order).
    for (const user of users) {
      expect(
        events.filter((event) => byId.get(event.id)!.target_user_id === user).map((event) => event.id),
        `user ${user}: deliveries in audit id order`,
      ).toEqual(audit.filter((row) => row.target_user_id === user).map((row) => String(row.id)));
    }
    // The service's record: exactly one `delivered` attempt per event, nothing given up.
    const outcomes: { event_id: number; delivered: number; failed: number; given_up: number }[] =
      await one.dataSource.query(
        `SELECT event_id, count(*) FILTER (WHERE outcome = 'delivered')::int AS delivered,
                count(*) FILTER (WHERE outcome = 'failed')::int AS failed,
                count(*) FILTER (WHERE outcome = 'given_up')::int AS given_up
           FROM webhook_deliveries WHERE endpoint_id = $1 GROUP BY event_id`,
        [endpointId],
      );
    const recorded = new Map(outcomes.map((row) => [String(row.event_id), row]));
    const notOnce = audit
      .map((row) => ({ id: row.id, ...recorded.get(String(row.id)) }))
      .filter((row) => row.delivered !== 1 || row.given_up !== 0);
    expect(notOnce, 'events without exactly one delivered attempt').toEqual([]);
    expect(outcomes).toHaveLength(audit.length);
    const endpoint = await request(one.baseUrl, 'GET', `${WEBHOOKS}${endpointId}/`, { token: adminToken });
    expect(endpoint.body).toMatchObject({ disabled: false });
    return { failedAttempts: outcomes.reduce((sum, row) => sum + row.failed, 0) };
  };

  it(`${USERS * PER_USER * 2} creates and deletes of ${USERS} users through both: each event delivered once, in order per user`, async () => {
    const deliveredBy = countDeliveredPerInstance();
    const endpoint = await subscribe();
    const { id } = endpoint;
    const startedAt = Date.now();
    const users = await workload();
    const audit = await drained(id);
    const drainMs = Date.now() - startedAt;

    const { failedAttempts } = await expectEachEventOnceInOrder(endpoint, users, audit);
    expect(receiver.received).toHaveLength(audit.length);
    // Both instances did deliver: the database shares the work (each has at most 4 attempts to one endpoint
    // in flight, so neither can take all of it); together they recorded each event once.
    const perInstance = deliveredBy();
    expect(perInstance[0] + perInstance[1]).toBe(audit.length);
    expect(
      perInstance.every((n) => n > 0),
      `delivered per instance: ${perInstance.join(', ')}`,
    ).toBe(true);
    console.log(
      `webhooks-instances: ${audit.length} events, ${receiver.received.length} requests, ` +
        `0 duplicates, ${failedAttempts} failed attempts, delivered by the instances ${perInstance.join(' + ')}, ` +
        `all delivered ${drainMs} ms after the first request`,
    );
  }, 240_000);

  it('the receiver answers 500 for a while, then 200: every event arrives, exactly one delivered attempt each, in order per user', async () => {
    const deliveredBy = countDeliveredPerInstance();
    const endpoint = await subscribe();
    const { id } = endpoint;
    receiver.mode = 500;
    const users = await workload();
    // The failures last until most users' first events have failed at least twice (retried after 1 s, 2 s, ...).
    const deadline = Date.now() + WAIT_MS;
    const refusedIds = () =>
      new Set(receiver.received.filter((r) => r.answered === 500).map((r) => r.headers['webhook-id']));
    while (receiver.received.length < 2 * USERS || refusedIds().size < USERS / 2) {
      if (Date.now() > deadline) {
        throw new Error(
          `still after ${WAIT_MS} ms: ${receiver.received.length} requests refused, of ${refusedIds().size} events`,
        );
      }
      await sleep(50);
    }
    const refused = receiver.received.length;
    receiver.mode = 200;
    const switchedAt = Date.now();
    const audit = await drained(id);
    const drainMs = Date.now() - switchedAt;

    const { failedAttempts } = await expectEachEventOnceInOrder(endpoint, users, audit);
    // Every request answered 500 is a failed attempt of the service's record, and vice versa.
    const refusedTotal = receiver.received.filter((r) => r.answered === 500).length;
    expect(refusedTotal).toBeGreaterThanOrEqual(refused);
    expect(failedAttempts).toBe(refusedTotal);
    const [{ statuses }]: { statuses: number[] | null }[] = await one.dataSource.query(
      "SELECT array_agg(DISTINCT status_code) AS statuses FROM webhook_deliveries WHERE endpoint_id = $1 AND outcome = 'failed'",
      [id],
    );
    expect(statuses).toEqual([500]);
    const perInstance = deliveredBy();
    expect(perInstance[0] + perInstance[1]).toBe(audit.length);
    console.log(
      `webhooks-instances (500, then 200): ${audit.length} events, ${refusedTotal} attempts refused with 500, ` +
        `0 duplicates, delivered by the instances ${perInstance.join(' + ')}, all delivered ${drainMs} ms after the receiver recovered`,
    );
  }, 240_000);
});
