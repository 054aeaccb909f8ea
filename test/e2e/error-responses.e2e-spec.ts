import { describe, expect, it } from 'vitest';
import { request } from '../support/http';
import { expectProblem, problems } from '../support/problem';
import { tokenFor } from '../support/tokens';
import { useTestApp } from '../support/use-test-app';

describe('error responses', () => {
  const t = useTestApp();
  const f = t.f;

  describe('unknown routes', () => {
    it.each([
      ['GET', '/nope'],
      ['GET', '/api/v2/nope/'],
      ['DELETE', '/api/v2/user/1/providers/'],
      ['DELETE', '/api/v3/user/1/provider/'],
      ['GET', '/health'],
    ])('404 problem+json for %s %s', async (method, path) => {
      const response = await request(t.baseUrl, method, path);
      expectProblem(response, problems.noRoute(method, path), { instance: path });
    });

    it('404 problem+json for an unknown route also with a valid token', async () => {
      const user = await f.makeUser();
      const response = await request(t.baseUrl, 'GET', '/api/v2/secret/', { token: tokenFor(user.id) });
      expectProblem(response, problems.noRoute('GET', '/api/v2/secret/'), { instance: '/api/v2/secret/' });
    });

    it('404 problem+json drops the query string from instance', async () => {
      const response = await request(t.baseUrl, 'GET', '/nope?token=abc');
      expectProblem(response, problems.noRoute('GET', '/nope'), { instance: '/nope' });
    });
  });

  describe('wrong methods', () => {
    it.each([
      ['PUT', '/api/v2/user/1/provider/'],
      ['PATCH', '/api/v2/user/1/provider/'],
      ['PUT', '/api/v2/user/1/provider'],
      ['POST', '/health/live'],
      ['DELETE', '/health/ready'],
    ])('404 or 405 problem+json, never 5xx, for %s %s', async (method, path) => {
      const user = await f.makeUser();
      const response = await request(t.baseUrl, method, path, {
        token: tokenFor(user.id),
        body: { ext_id: '1', provider: 'google' },
      });
      expect([404, 405]).toContain(response.status);
      expectProblem(response, response.status === 405 ? problems.methodNotAllowed() : problems.noRoute(method, path));
    });
  });

  describe('malformed URLs', () => {
    it.each([
      ['a broken percent-encoding in the path', '/api/v2/user/%E0%A4%A/provider/'],
      ['a lone percent sign in the path', '/api/v2/user/%/provider/'],
      ['an overlong path parameter', `/api/v2/user/${'9'.repeat(200)}/provider/`],
    ])('400 problem+json, never 5xx, for %s', async (_name, path) => {
      const user = await f.makeUser();
      const response = await request(t.baseUrl, 'DELETE', path, {
        token: tokenFor(user.id),
        body: { ext_id: '1', provider: 'google' },
      });
      expectProblem(response, problems.invalid());
    });

    it('a broken percent-encoding in the query string is a 400 or 404, never 5xx', async () => {
      const user = await f.makeUser();
      const response = await request(
        t.baseUrl,
        'DELETE',
        `/api/v2/user/${user.id}/provider/?ext_id=%E0%A4%A&provider=google`,
        {
          token: tokenFor(user.id),
        },
      );
      expect([400, 404]).toContain(response.status);
      expectProblem(response, response.status === 400 ? problems.invalid() : problems.notFound());
    });
  });

  describe('X-Request-Id', () => {
    it('echoes a safe incoming X-Request-Id on a 404 and in its body', async () => {
      const response = await request(t.baseUrl, 'GET', '/nope', { headers: { 'x-request-id': 'abc-123_x.y:z' } });
      expectProblem(response, problems.noRoute('GET', '/nope'));
      expect(response.headers.get('x-request-id')).toBe('abc-123_x.y:z');
      expect(response.body.request_id).toBe('abc-123_x.y:z');
    });

    it('echoes a safe incoming X-Request-Id on a health probe', async () => {
      const response = await request(t.baseUrl, 'GET', '/health/live', { headers: { 'x-request-id': 'probe-1' } });
      expect(response.status).toBe(200);
      expect(response.headers.get('x-request-id')).toBe('probe-1');
    });

    it('gives every request its own id when none is sent', async () => {
      const [a, b] = await Promise.all([request(t.baseUrl, 'GET', '/nope'), request(t.baseUrl, 'GET', '/nope')]);
      expect(a.body.request_id).toMatch(/^[A-Za-z0-9._:-]{1,64}$/);
      expect(a.body.request_id).not.toBe(b.body.request_id);
    });
  });

  describe('problem bodies', () => {
    it('a 400 carries the RFC 9457 members, the errors array and nothing that looks like a stack', async () => {
      const user = await f.makeUser();
      const response = await request(t.baseUrl, 'DELETE', `/api/v2/user/${user.id}/provider/`, {
        token: tokenFor(user.id),
        body: { ext_id: 'x'.repeat(256), provider: 'google' },
      });
      expectProblem(response, problems.invalidField('ext_id', 'invalid'));
      expect(response.body).toEqual({
        type: 'about:blank',
        title: 'Bad Request',
        status: 400,
        detail: expect.stringContaining('ext_id'),
        instance: `/api/v2/user/${user.id}/provider/`,
        errors: [{ field: 'ext_id', messages: [{ code: 'invalid', message: expect.stringContaining('ext_id') }] }],
        request_id: response.headers.get('x-request-id'),
      });
      expect(response.text).not.toMatch(/\bat .*\.(ts|js):\d+/);
    });
  });
});
