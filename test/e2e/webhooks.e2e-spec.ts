import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { request } from '../support/http';
import { expectProblem, problems } from '../support/problem';
import { tokenFor } from '../support/tokens';
import { DeliveryRepository } from '../../src/webhooks/delivery/delivery.repository';
import { useTestApp } from '../support/use-test-app';
import { WebhookReceiver } from '../support/webhook-receiver';

const WEBHOOKS = '/api/v2/webhooks/';

describe('webhooks', () => {
  let receiver: WebhookReceiver;
  beforeAll(async () => {
    receiver = await WebhookReceiver.start();
  });
  afterAll(() => receiver.close());

  const t = useTestApp({
    WEBHOOKS_ALLOW_PRIVATE_NETWORKS: 'true',
    WEBHOOK_TIMEOUT_MS: '1000',
    WEBHOOK_RETRY_PERIOD_SECONDS: '30',
  });
  const f = t.f;
  let adminToken: string;
  beforeEach(async () => {
    adminToken = tokenFor((await f.makeAdmin()).id);
    receiver.received.length = 0;
    receiver.mode = 200;
  });

  async function subscribe(body: Record<string, unknown> = {}) {
    const res = await request(t.baseUrl, 'POST', WEBHOOKS, { token: adminToken, body: { url: receiver.url, ...body } });
    expect(res.status, res.text).toBe(201);
    return res.body as { id: number; secret: string; events: string[]; disabled: boolean; url: string };
  }

  it('registers an endpoint: 201 with a Standard Webhooks secret, shown only then', async () => {
    const created = await subscribe({ description: 'sessions' });
    expect(created).toMatchObject({ url: receiver.url, description: 'sessions', disabled: false });
    expect(created.events).toEqual(['social_association.created', 'social_association.deleted']);
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const read = await request(t.baseUrl, 'GET', `${WEBHOOKS}${created.id}/`, { token: adminToken });
    expect(read.status).toBe(200);
    expect(read.body).not.toHaveProperty('secret');
    const listed = await request(t.baseUrl, 'GET', WEBHOOKS, { token: adminToken });
    expect((listed.body as { id: number }[]).map((e) => e.id)).toEqual([created.id]);
  });

  it('delivers a create and a delete, signed (verified by standardwebhooks), with the event fields', async () => {
    const { secret } = await subscribe();
    const user = await f.makeUser();
    const created = await request(t.baseUrl, 'POST', `/api/v2/user/${user.id}/provider/`, {
      token: tokenFor(user.id),
      body: { provider: 'github', ext_id: 'gh-1' },
      headers: { 'x-request-id': 'req-create-1' },
    });
    expect(created.status, created.text).toBe(201);
    const deleted = await request(t.baseUrl, 'DELETE', `/api/v2/user/${user.id}/provider/`, {
      token: adminToken,
      body: { provider: 'github', ext_id: 'gh-1' },
      headers: { 'x-request-id': 'req-delete-1' },
    });
    expect(deleted.status, deleted.text).toBe(204);

    await receiver.waitFor(2);
    const events = receiver.verified(secret);
    expect(events.map((e) => e.type)).toEqual(['social_association.created', 'social_association.deleted']);
    expect(events[0].data).toEqual({
      user_id: user.id,
      provider: 'github',
      ext_id: 'gh-1',
      actor_user_id: user.id,
      request_id: 'req-create-1',
    });
    expect(events[1].data).toMatchObject({ user_id: user.id, request_id: 'req-delete-1' });
    const audit = await f.auditEvents();
    expect(events.map((e) => e.id)).toEqual(audit.map((row) => String(row.id)));
  });

  it('only the subscribed types', async () => {
    const { secret } = await subscribe({ events: ['social_association.deleted'] });
    const user = await f.makeUser();
    await f.link(user.id, { provider: 'github', ext_id: 'only-deleted' });
    const deleted = await request(t.baseUrl, 'DELETE', `/api/v2/user/${user.id}/provider/`, {
      token: adminToken,
      body: { provider: 'github', ext_id: 'only-deleted' },
    });
    expect(deleted.status).toBe(204);
    await receiver.waitFor(1);
    await new Promise((done) => setTimeout(done, 500));
    expect(receiver.verified(secret).map((e) => e.type)).toEqual(['social_association.deleted']);
  });

  it('the receiver failing, then answering: every event arrives, in order per user, with the same ids', async () => {
    const { id, secret } = await subscribe();
    receiver.mode = 503;
    const user = await f.makeUser();
    for (let i = 0; i < 5; i++) await f.link(user.id, { provider: 'github', ext_id: `retry-${i}` });
    await receiver.waitFor(2);
    // Only the first event is tried while it fails: the later ones wait behind it.
    expect(new Set(receiver.received.map((r) => r.headers['webhook-id'])).size).toBe(1);
    receiver.mode = 200;
    const audit = await f.auditEvents();
    const ids = audit.map((row) => String(row.id));
    const deadline = Date.now() + 15_000;
    while (
      new Set(receiver.received.filter((r) => r.headers['webhook-id']).map((r) => r.headers['webhook-id'])).size < 5
    ) {
      if (Date.now() > deadline) throw new Error('not every event arrived');
      await new Promise((done) => setTimeout(done, 50));
    }
    const verified = receiver.verified(secret);
    const firstSeen = [...new Set(verified.map((e) => e.id))];
    expect(firstSeen).toEqual(ids);
    const deliveries = await request(t.baseUrl, 'GET', `${WEBHOOKS}${id}/deliveries/`, { token: adminToken });
    expect(deliveries.status).toBe(200);
    const page = deliveries.body as { results: { outcome: string; status_code: number | null }[] };
    expect(page.results.some((d) => d.outcome === 'failed' && d.status_code === 503)).toBe(true);
    expect(page.results.filter((d) => d.outcome === 'delivered')).toHaveLength(5);
  });

  it('the receiver down (connection refused), then back on its port: every event arrives, in order per user', async () => {
    const { id, secret } = await subscribe();
    await receiver.close();
    try {
      const users = [await f.makeUser(), await f.makeUser()];
      for (let i = 0; i < 3; i++) {
        for (const user of users) await f.link(user.id, { provider: 'github', ext_id: `down-${user.id}-${i}` });
      }
      // Attempts fail while it is down, and are recorded.
      const deadline = Date.now() + 15_000;
      for (;;) {
        const res = await request(t.baseUrl, 'GET', `${WEBHOOKS}${id}/deliveries/`, { token: adminToken });
        const failed = (res.body as { results: { outcome: string; error: string }[] }).results;
        if (failed.length >= 2) {
          expect(failed.every((d) => d.outcome === 'failed' && /refused/i.test(d.error))).toBe(true);
          break;
        }
        if (Date.now() > deadline) throw new Error(`no failed attempts recorded: ${res.text}`);
        await new Promise((done) => setTimeout(done, 100));
      }
    } finally {
      await receiver.reopen();
    }
    await receiver.waitFor(6, 20_000);
    const audit = await f.auditEvents();
    const delivered = receiver.verified(secret);
    for (const userId of new Set(audit.map((row) => Number(row.target_user_id)))) {
      const expected = audit.filter((row) => Number(row.target_user_id) === userId).map((row) => String(row.id));
      const arrived = [...new Set(delivered.filter((e) => e.data.user_id === userId).map((e) => e.id))];
      expect(arrived).toEqual(expected);
    }
  });

  it('a receiver that hangs: the attempt ends at the timeout and is recorded as failed', async () => {
    const { id } = await subscribe();
    receiver.mode = 'hang';
    const user = await f.makeUser();
    await f.link(user.id, { provider: 'github', ext_id: 'hang-1' });
    await receiver.waitFor(1);
    const started = receiver.received[0].receivedAt;
    const deadline = Date.now() + 10_000;
    let failed: { error: string; duration_ms: number } | undefined;
    while (!failed) {
      if (Date.now() > deadline) throw new Error('no failed attempt recorded');
      const res = await request(t.baseUrl, 'GET', `${WEBHOOKS}${id}/deliveries/`, { token: adminToken });
      failed = (res.body as { results: { error: string; duration_ms: number }[] }).results[0];
      if (!failed) await new Promise((done) => setTimeout(done, 100));
    }
    expect(failed.error).toMatch(/timeout/);
    expect(failed.duration_ms).toBeGreaterThanOrEqual(900);
    expect(failed.duration_ms).toBeLessThan(3000);
    expect(Date.now() - started).toBeLessThan(10_000);
    receiver.mode = 200;
  });

  it('replays the events since an instant, with their ids', async () => {
    const { id, secret } = await subscribe();
    const user = await f.makeUser();
    const since = new Date(Date.now() - 1000).toISOString();
    await f.link(user.id, { provider: 'github', ext_id: 'replay-1' });
    await receiver.waitFor(1);
    const replay = await request(t.baseUrl, 'POST', `${WEBHOOKS}${id}/replay/`, { token: adminToken, body: { since } });
    expect(replay.status, replay.text).toBe(202);
    await receiver.waitFor(2);
    const events = receiver.verified(secret);
    expect(events[1].id).toBe(events[0].id);
  });

  describe('refusals', () => {
    it('403 for a caller who is not an admin; 401 anonymous', async () => {
      const user = await f.makeUser();
      expectProblem(
        await request(t.baseUrl, 'POST', WEBHOOKS, { token: tokenFor(user.id), body: { url: receiver.url } }),
        problems.permissionDenied(),
      );
      expectProblem(await request(t.baseUrl, 'GET', WEBHOOKS), problems.notAuthenticated());
    });

    it('400 for an unknown event type, an empty list, a missing url; 404 for an unknown endpoint', async () => {
      for (const body of [{ url: receiver.url, events: ['nope'] }, { url: receiver.url, events: [] }, {}]) {
        const res = await request(t.baseUrl, 'POST', WEBHOOKS, { token: adminToken, body });
        expect(res.status, JSON.stringify(body)).toBe(400);
      }
      const missing = await request(t.baseUrl, 'GET', `${WEBHOOKS}999/`, { token: adminToken });
      expect(missing.status).toBe(404);
      const replay = await request(t.baseUrl, 'POST', `${WEBHOOKS}1/replay/`, {
        token: adminToken,
        body: { since: 'x' },
      });
      expect(replay.status).toBe(400);
    });
  });
});

describe('webhooks: SSRF rules (WEBHOOKS_ALLOW_PRIVATE_NETWORKS unset)', () => {
  const t = useTestApp();
  it('refuses http, loopback, private, link-local and metadata addresses at registration', async () => {
    const adminToken = tokenFor((await t.f.makeAdmin()).id);
    for (const url of [
      'http://example.com/hooks',
      'https://127.0.0.1/hooks',
      'https://localhost/hooks',
      'https://10.1.2.3/hooks',
      'https://192.168.0.1/hooks',
      'https://169.254.169.254/latest/meta-data',
      'https://[::1]/hooks',
      'https://[fd00:ec2::254]/hooks',
      'https://user:pass@example.com/hooks',
    ]) {
      const res = await request(t.baseUrl, 'POST', WEBHOOKS, { token: adminToken, body: { url } });
      expect(res.status, url).toBe(400);
      expect((res.body as { errors: { field?: string }[] }).errors[0].field, url).toBe('url');
    }
    const listed = await request(t.baseUrl, 'GET', WEBHOOKS, { token: adminToken });
    expect(listed.body).toEqual([]);
  });
});

describe('webhooks: giving up, and the rules at delivery time', () => {
  let receiver: WebhookReceiver;
  beforeAll(async () => {
    receiver = await WebhookReceiver.start();
  });
  afterAll(() => receiver.close());

  // A retry period of 2 s: the first event that keeps failing is given up within seconds.
  const t = useTestApp({ WEBHOOK_TIMEOUT_MS: '1000', WEBHOOK_RETRY_PERIOD_SECONDS: '2' });
  const f = t.f;
  let adminToken: string;
  beforeEach(async () => {
    adminToken = tokenFor((await f.makeAdmin()).id);
    receiver.received.length = 0;
    receiver.mode = 200;
  });

  /** An endpoint whose URL the API would refuse here: as if its host's DNS answer had changed since registration. */
  async function endpointTo(url: string): Promise<number> {
    const [row]: { id: number }[] = await t.dataSource.query(
      "INSERT INTO webhook_endpoints (url, secret) VALUES ($1, 'whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA') RETURNING id",
      [url],
    );
    return row.id;
  }

  async function waitForEndpoint(id: number, done: (endpoint: Record<string, unknown>) => boolean) {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const res = await request(t.baseUrl, 'GET', `${WEBHOOKS}${id}/`, { token: adminToken });
      if (done(res.body as Record<string, unknown>)) return res.body as Record<string, unknown>;
      if (Date.now() > deadline) throw new Error(`endpoint ${id}: ${res.text}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  it('a private address is refused at every attempt, with no connection; the event is given up and the endpoint disabled with the reason', async () => {
    const id = await endpointTo(receiver.url);
    const user = await f.makeUser();
    await f.link(user.id, { provider: 'github', ext_id: 'refused-1' });
    const endpoint = await waitForEndpoint(id, (e) => e.disabled === true);
    expect(receiver.received).toHaveLength(0);
    expect(endpoint.disabled_reason).toMatch(/^Event \d+ was given up after failing since .*; last error: refused/);
    expect(endpoint.disabled_at).toEqual(expect.any(String));
    const deliveries = await request(t.baseUrl, 'GET', `${WEBHOOKS}${id}/deliveries/?limit=100`, {
      token: adminToken,
    });
    const attempts = (deliveries.body as { results: { outcome: string; error: string; attempt: number }[] }).results;
    expect(attempts[0].outcome).toBe('given_up');
    expect(attempts.every((a) => /refused/.test(a.error))).toBe(true);
    expect(attempts.map((a) => a.attempt)).toEqual(attempts.map((_, i) => attempts.length - i));

    // A disabled endpoint gets nothing more; a replay enables it again.
    await f.link(user.id, { provider: 'github', ext_id: 'refused-2' });
    const replay = await request(t.baseUrl, 'POST', `${WEBHOOKS}${id}/replay/`, {
      token: adminToken,
      body: { since: new Date(Date.now() - 60_000).toISOString() },
    });
    expect(replay.status, replay.text).toBe(202);
    const enabled = await request(t.baseUrl, 'GET', `${WEBHOOKS}${id}/`, { token: adminToken });
    expect(enabled.body).toMatchObject({ disabled: false, disabled_reason: null, disabled_at: null });
  });

  it('the delivery log keeps 30 days: older attempts are pruned', async () => {
    const id = await endpointTo('https://hooks.example.com/x');
    await t.dataSource.query(
      `INSERT INTO webhook_deliveries (endpoint_id, event_id, attempt, outcome, status_code, duration_ms, attempted_at)
       VALUES ($1, 1, 1, 'delivered', 200, 5, now() - interval '31 days'), ($1, 2, 1, 'delivered', 200, 5, now() - interval '29 days')`,
      [id],
    );
    expect(await t.app.get(DeliveryRepository).pruneDeliveries()).toBe(1);
    const left: { event_id: number }[] = await t.dataSource.query('SELECT event_id FROM webhook_deliveries');
    expect(left).toEqual([{ event_id: 2 }]);
  });

  it('a metadata address is refused the same way', async () => {
    const id = await endpointTo('https://169.254.169.254/latest/meta-data');
    const user = await f.makeUser();
    await f.link(user.id, { provider: 'github', ext_id: 'metadata-1' });
    const endpoint = await waitForEndpoint(id, (e) => e.disabled === true);
    expect(endpoint.disabled_reason).toMatch(/refused/);
  });
});
