import { describe, expect, it } from 'vitest';
import { TestApp } from '../support/create-test-app';
import { factories } from '../support/factories';
import { request } from '../support/http';
import { tokenFor } from '../support/tokens';
import { expectThrottled, me, publicList, useRateLimitedApps } from '../support/rate-limit';

describe('rate limiting (in memory)', () => {
  const boot = useRateLimitedApps();
  it('429 problem+json with Retry-After once a user is over RATE_LIMIT_PER_MINUTE', async () => {
    const t = await boot({ RATE_LIMIT_PER_MINUTE: '3' });
    const user = await factories(t).makeUser();
    const token = tokenFor(user.id);
    for (let i = 0; i < 3; i++) {
      const res = await me(t, token);
      expect(res.status, res.text).toBe(200);
      expect(res.headers.get('x-ratelimit-limit')).toBe('3');
      expect(res.headers.get('x-ratelimit-remaining')).toBe(String(2 - i));
    }
    expectThrottled(await me(t, token));
    expectThrottled(await me(t, token));
  });

  it('one budget per user across routes; other users and anonymous callers keep theirs', async () => {
    const t = await boot({ RATE_LIMIT_PER_MINUTE: '3' });
    const f = factories(t);
    const [a, b] = [await f.makeUser(), await f.makeUser()];
    expect((await me(t, tokenFor(a.id))).status).toBe(200);
    expect((await request(t.baseUrl, 'GET', `/api/v2/user/${a.id}/provider/`, { token: tokenFor(a.id) })).status).toBe(
      200,
    );
    expect((await request(t.baseUrl, 'GET', '/api/v2/user/provider/', { token: tokenFor(a.id) })).status).toBe(200);
    expectThrottled(await me(t, tokenFor(a.id)));

    // Same address, other callers: untouched by a's budget.
    expect((await me(t, tokenFor(b.id))).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await publicList(t, a.id)).status).toBe(200);
    expectThrottled(await publicList(t, a.id));
    // The address is now over its budget, and b is still not.
    expect((await me(t, tokenFor(b.id))).status).toBe(200);
  });

  describe('behind a load balancer: anonymous callers are told apart by X-Forwarded-For only from TRUST_PROXY', () => {
    const fromClient = (t: TestApp, address: string) =>
      request(t.baseUrl, 'GET', '/api/v2/user/1/provider/', { headers: { 'x-forwarded-for': address } });

    it('without TRUST_PROXY the header is ignored: it cannot buy a fresh budget', async () => {
      const t = await boot({ RATE_LIMIT_PER_MINUTE: '2' });
      expect((await fromClient(t, '203.0.113.1')).status).toBe(404);
      expect((await fromClient(t, '203.0.113.2')).status).toBe(404);
      expectThrottled(await fromClient(t, '203.0.113.3'));
    });

    it('with the proxy trusted, each client address has its own budget', async () => {
      const t = await boot({ RATE_LIMIT_PER_MINUTE: '2', TRUST_PROXY: '127.0.0.1' });
      expect((await fromClient(t, '203.0.113.1')).status).toBe(404);
      expect((await fromClient(t, '203.0.113.1')).status).toBe(404);
      expectThrottled(await fromClient(t, '203.0.113.1'));
      expect((await fromClient(t, '203.0.113.2')).status).toBe(404);
      // A client cannot pose as another by prepending addresses: the proxy's own entry is the last.
      expectThrottled(await fromClient(t, '198.51.100.9, 203.0.113.1'));
    });
  });

  it('health routes are never throttled', async () => {
    const t = await boot({ RATE_LIMIT_PER_MINUTE: '1' });
    for (let i = 0; i < 5; i++) {
      expect((await request(t.baseUrl, 'GET', '/health/live')).status).toBe(200);
      expect((await request(t.baseUrl, 'GET', '/health/ready')).status).toBe(200);
    }
    expect((await publicList(t, 1)).status).toBe(404);
    expectThrottled(await publicList(t, 1));
  });

  it('RATE_LIMIT_PER_MINUTE=0 turns it off (the test harness default)', async () => {
    const t = await boot({});
    expect(t.config.rateLimit.perMinute).toBe(0);
    for (let i = 0; i < 20; i++) {
      const res = await publicList(t, 1);
      expect(res.status).toBe(404);
      expect(res.headers.get('x-ratelimit-limit')).toBeNull();
    }
  });
});
