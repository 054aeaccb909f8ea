import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createTestApp } from '../support/create-test-app';
import { request, TestResponse } from '../support/http';
import { expectProblem, problems } from '../support/problem';
import { tokenFor } from '../support/tokens';
import { useTestApp } from '../support/use-test-app';

const ALLOWED = 'https://admin.example.com';
const ALSO_ALLOWED = 'http://localhost:5173';
const OTHER = 'https://evil.example.net';

function expectSecurityHeaders(res: TestResponse): void {
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
  expect(res.headers.get('strict-transport-security')).toMatch(/^max-age=\d+/);
  expect(res.headers.get('referrer-policy')).toBe('no-referrer');
  expect(res.headers.get('cross-origin-opener-policy')).toBe('same-origin');
  expect(res.headers.get('content-security-policy')).toBe(
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  );
  expect(res.headers.get('x-powered-by')).toBeNull();
}

describe('HTTP hardening', () => {
  const t = useTestApp({ CORS_ORIGINS: `${ALLOWED}, ${ALSO_ALLOWED}` });
  const f = t.f;

  describe('security headers (helmet)', () => {
    it('on a success, a problem, an unknown route and a health check', async () => {
      const user = await f.makeUser();
      const ok = await request(t.baseUrl, 'GET', '/api/v2/user/me/', { token: tokenFor(user.id) });
      expect(ok.status).toBe(200);
      expectSecurityHeaders(ok);
      const problem = await request(t.baseUrl, 'GET', '/api/v2/user/me/');
      expectProblem(problem, problems.notAuthenticated());
      expectSecurityHeaders(problem);
      const unknown = await request(t.baseUrl, 'GET', '/nope');
      expect(unknown.status).toBe(404);
      expectSecurityHeaders(unknown);
      expectSecurityHeaders(await request(t.baseUrl, 'GET', '/health/live'));
      // A URL Fastify refuses before routing (bad percent-encoding):
      const malformed = await request(t.baseUrl, 'GET', '/api/v2/user/%E0%A4%A/provider/');
      expect(malformed.status).toBe(400);
      expectSecurityHeaders(malformed);
      expect(malformed.headers.get('x-request-id')).toBe(malformed.body.request_id);
    });

    it('the API documentation (Swagger UI) gets a policy that lets its own scripts and styles load', async () => {
      const res = await request(t.baseUrl, 'GET', '/api/docs');
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("style-src 'self' 'unsafe-inline'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('upgrade-insecure-requests');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    });
  });

  describe('CORS (CORS_ORIGINS allow-list)', () => {
    const preflight = (origin: string, method = 'DELETE', headers = 'authorization,content-type') =>
      request(t.baseUrl, 'OPTIONS', `/api/v2/user/1/provider/`, {
        headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers },
      });

    it('an allowed origin: the preflight of a DELETE with a JSON body and a token passes, then the DELETE works', async () => {
      const user = await f.makeUser();
      await f.link(user.id, { provider: 'google', ext_id: 'g-1' });

      const pre = await preflight(ALLOWED);
      expect([200, 204]).toContain(pre.status);
      expect(pre.headers.get('access-control-allow-origin')).toBe(ALLOWED);
      // Answered by the CORS hook before routing, and still like every other response:
      expectSecurityHeaders(pre);
      expect(pre.headers.get('x-request-id')).toMatch(/^[A-Za-z0-9._:-]{1,64}$/);
      expect(pre.headers.get('access-control-allow-methods')?.split(/,\s*/)).toEqual(
        expect.arrayContaining(['DELETE', 'POST', 'GET']),
      );
      const allowedHeaders = pre.headers.get('access-control-allow-headers')?.toLowerCase().split(/,\s*/);
      expect(allowedHeaders).toEqual(expect.arrayContaining(['authorization', 'content-type', 'x-request-id']));
      expect(pre.headers.get('access-control-allow-credentials')).toBeNull();
      expect(Number(pre.headers.get('access-control-max-age'))).toBeGreaterThan(0);
      expect(pre.headers.get('vary')?.toLowerCase()).toContain('origin');

      const del = await request(t.baseUrl, 'DELETE', `/api/v2/user/${user.id}/provider/`, {
        token: tokenFor(user.id),
        body: { provider: 'google', ext_id: 'g-1' },
        headers: { origin: ALLOWED },
      });
      expect(del.status, del.text).toBe(204);
      expect(del.headers.get('access-control-allow-origin')).toBe(ALLOWED);
      const exposed = del.headers.get('access-control-expose-headers')?.toLowerCase().split(/,\s*/);
      expect(exposed).toEqual(expect.arrayContaining(['x-request-id', 'retry-after']));
      expect(await f.countAssociations(user.id)).toBe(0);
    });

    it('every origin of the list is allowed, each answered with itself', async () => {
      const pre = await preflight(ALSO_ALLOWED);
      expect(pre.headers.get('access-control-allow-origin')).toBe(ALSO_ALLOWED);
    });

    it('another origin: no Access-Control-Allow-Origin on the preflight or the response, so the browser blocks it', async () => {
      for (const origin of [OTHER, `${ALLOWED}.evil.example.net`, 'https://admin.example.com:8443', 'null']) {
        const pre = await preflight(origin);
        expect(pre.headers.get('access-control-allow-origin'), origin).toBeNull();
      }
      const user = await f.makeUser();
      const res = await request(t.baseUrl, 'GET', '/api/v2/user/me/', {
        token: tokenFor(user.id),
        headers: { origin: OTHER },
      });
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
    });

    it('errors carry the CORS headers too, so the dashboard can read the problem', async () => {
      const res = await request(t.baseUrl, 'DELETE', '/api/v2/user/1/provider/', {
        body: { provider: 'google', ext_id: 'x' },
        headers: { origin: ALLOWED },
      });
      expectProblem(res, problems.notAuthenticated());
      expect(res.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    });

    it('without CORS_ORIGINS there are no CORS headers at all', async () => {
      const plain = await createTestApp();
      try {
        const pre = await request(plain.baseUrl, 'OPTIONS', '/api/v2/user/1/provider/', {
          headers: { origin: ALLOWED, 'access-control-request-method': 'DELETE' },
        });
        expect(pre.headers.get('access-control-allow-origin')).toBeNull();
        const res = await request(plain.baseUrl, 'GET', '/health/live', { headers: { origin: ALLOWED } });
        expect(res.headers.get('access-control-allow-origin')).toBeNull();
      } finally {
        await plain.close();
      }
    });
  });

  describe('requests the HTTP parser refuses: problem+json on the socket, then the connection closes', () => {
    /** Sends raw bytes, returns everything the server wrote before closing. */
    const raw = (bytes: Buffer): Promise<string> =>
      new Promise((resolve, reject) => {
        const { hostname, port } = new URL(t.baseUrl);
        const socket = connect(Number(port), hostname, () => socket.end(bytes));
        let text = '';
        socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
        socket.on('close', () => resolve(text));
        socket.on('error', reject);
      });
    const parse = (text: string) => {
      const [head, body] = text.split('\r\n\r\n');
      const [statusLine, ...lines] = head.split('\r\n');
      const headers = new Headers(lines.map((line) => line.split(/:\s*/, 2) as [string, string]));
      return { status: Number(statusLine.split(' ')[1]), headers, body: JSON.parse(body) as Record<string, unknown> };
    };

    it.each([
      [
        'a byte above ASCII in the request line',
        'GET /api/v2/user/1/provider/?q=\xfc HTTP/1.1\r\nHost: x\r\n\r\n',
        400,
      ],
      ['a control character in a header value', 'GET /health/live HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n', 400],
      ['not HTTP at all', 'HELLO\r\n\r\n', 400],
      [
        'a header block over the limit',
        `GET /health/live HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
        431,
      ],
    ])('%s', async (_name, request, status) => {
      const response = parse(await raw(Buffer.from(request, 'latin1')));
      expect(response.status).toBe(status);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('connection')).toBe('close');
      expect(response.body).toMatchObject({ type: 'about:blank', status, errors: [{ code: expect.any(String) }] });
      expect(response.body.request_id).toBe(response.headers.get('x-request-id'));
    });
  });

  describe('X-Request-Id', () => {
    it('a valid incoming id is echoed, and is the request_id of an error body', async () => {
      const ok = await request(t.baseUrl, 'GET', '/health/live', { headers: { 'x-request-id': 'dash-42.a:b_c-d' } });
      expect(ok.headers.get('x-request-id')).toBe('dash-42.a:b_c-d');
      const problem = await request(t.baseUrl, 'GET', '/api/v2/user/me/', { headers: { 'x-request-id': 'trace-1' } });
      expectProblem(problem, problems.notAuthenticated());
      expect(problem.body.request_id).toBe('trace-1');
    });

    it.each([
      ['too long', 'x'.repeat(65)],
      ['spaces', 'a b'],
      ['log injection', 'a\\nb'],
      ['empty', ''],
      ['non-ASCII', 'caf%C3%A9'],
    ])('an invalid one (%s) is replaced by a generated id', async (_name, value) => {
      const res = await request(t.baseUrl, 'GET', '/health/live', { headers: { 'x-request-id': value } });
      const id = res.headers.get('x-request-id');
      expect(id).not.toBe(value);
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    });

    it('every response without one gets a fresh one', async () => {
      const [a, b] = [await request(t.baseUrl, 'GET', '/health/live'), await request(t.baseUrl, 'GET', '/nope')];
      expect(a.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      expect(b.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      expect(a.headers.get('x-request-id')).not.toBe(b.headers.get('x-request-id'));
    });
  });
});
