import { Validator } from '@seriousme/openapi-schema-validator';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { request } from '../support/http';
import { contractProblems, OPENAPI_FILE } from '../support/openapi-contract';
import { useTestApp } from '../support/use-test-app';

interface Operation {
  operationId?: string;
  summary?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }>;
}
type Paths = Record<string, Record<string, Operation>>;

const committed = JSON.parse(readFileSync(OPENAPI_FILE, 'utf8')) as { paths: Paths; openapi: string };

function operations(paths: Paths): { method: string; path: string; operation: Operation }[] {
  return Object.entries(paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, operation]) => ({ method, path, operation })),
  );
}

describe('OpenAPI document', () => {
  // Reads only: no table to empty between tests.
  const t = useTestApp({}, { reset: false });

  it('GET /api/docs-json serves exactly the committed openapi.json', async () => {
    const response = await request(t.baseUrl, 'GET', '/api/docs-json');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.body).toEqual(committed);
  });

  it('openapi.json is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(committed));
    expect(result.errors ?? [], JSON.stringify(result.errors, null, 2)).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('GET /api/docs serves Swagger UI, with its assets', async () => {
    const page = await request(t.baseUrl, 'GET', '/api/docs');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.text).toContain('swagger-ui');
    for (const asset of [
      '/api/docs/swagger-ui-init.js',
      '/api/docs/swagger-ui-bundle.js',
      '/api/docs/swagger-ui.css',
    ]) {
      const response = await request(t.baseUrl, 'GET', asset);
      expect(response.status, asset).toBe(200);
    }
  });

  it('names every operation after its handler, the way generated clients should read', () => {
    const ids = operations(committed.paths).map(({ method, path, operation }) => [
      `${method.toUpperCase()} ${path}`,
      operation.operationId,
    ]);
    expect(Object.fromEntries(ids)).toMatchObject({
      'POST /api/v2/user/provider/': 'createSocialAssociation',
      'POST /api/v2/user/{id}/provider/': 'createUserSocialAssociation',
      'GET /api/v2/user/provider/': 'listSocialAssociations',
      'GET /api/v2/user/{id}/provider/': 'listUserSocialAssociations',
      'DELETE /api/v2/user/{id}/provider/': 'deleteSocialAssociation',
      'POST /api/v2/sso/signup/': 'signupUser',
      'GET /api/v2/user/me/': 'getCurrentUser',
    });
    expect(new Set(ids.map(([, id]) => id)).size).toBe(ids.length);
  });

  it('gives every operation a summary, a tag, a 500 and problem+json errors', () => {
    for (const { method, path, operation } of operations(committed.paths)) {
      const name = `${method.toUpperCase()} ${path}`;
      expect(operation.summary, name).toBeTruthy();
      expect(operation.tags?.length, name).toBeGreaterThan(0);
      expect(Object.keys(operation.responses), name).toContain('500');
      for (const [status, response] of Object.entries(operation.responses)) {
        if (Number(status) < 400) continue;
        expect(response.content, `${name} ${status}`).toEqual({
          'application/problem+json': expect.objectContaining({
            schema: { $ref: '#/components/schemas/ProblemDetails' },
          }),
        });
      }
    }
  });

  it('documents the security each route enforces: a required token is a 401 without one', async () => {
    const api = operations(committed.paths).filter(({ path }) => path.startsWith('/api/v2/'));
    expect(api.length).toBeGreaterThan(0);
    for (const { method, path, operation } of api) {
      const name = `${method.toUpperCase()} ${path}`;
      const security = operation.security ?? [];
      const required = security.length > 0 && !security.some((requirement) => Object.keys(requirement).length === 0);
      const query = name === 'GET /api/v2/user/provider/' ? '?user_id=1' : ''; // without it: the caller's own
      const anonymous = await request(t.baseUrl, method.toUpperCase(), `${path.replace('{id}', '1')}${query}`);
      if (required) {
        expect(security, name).toEqual([{ bearer: [] }]);
        expect(anonymous.status, name).toBe(401);
        expect(Object.keys(operation.responses), name).toContain('401');
      } else {
        expect(anonymous.status, `${name} is open to anonymous callers`).not.toBe(401);
      }
    }
  });

  describe('contract validation of responses (test/support/openapi-contract.ts)', () => {
    const json = (status: number, body: unknown, contentType = 'application/json; charset=utf-8') => ({
      status,
      headers: new Headers({ 'content-type': contentType }),
      text: JSON.stringify(body),
    });
    const association = { user_id: 7, provider: 'google', ext_id: '1', profile_url: null, show_in_profile: true };
    const problem = {
      type: 'about:blank',
      title: 'Not Found',
      status: 404,
      detail: 'Not Found',
      instance: '/x',
      errors: [{ code: 'not_found', message: 'Not Found' }],
      request_id: 'r',
    };

    it('accepts documented responses, with or without the trailing slash and with a query string', () => {
      expect(contractProblems('GET', '/api/v2/user/7/provider', json(200, [association]))).toEqual([]);
      expect(contractProblems('GET', '/api/v2/user/provider/?user_id=7', json(200, [association]))).toEqual([]);
      expect(
        contractProblems('DELETE', '/api/v2/user/7/provider/', { status: 204, headers: new Headers(), text: '' }),
      ).toEqual([]);
      expect(
        contractProblems('GET', '/api/v2/user/me/', json(404, problem, 'application/problem+json; charset=utf-8')),
      ).toEqual(['status 404 is not documented for GET /api/v2/user/me/ (documented: 200, 401, 429, 500, 503)']);
    });

    it('rejects undocumented statuses, fields, content types and bodies', () => {
      expect(contractProblems('GET', '/api/v2/user/7/provider/', json(418, []))[0]).toMatch(
        /status 418 is not documented/,
      );
      expect(contractProblems('GET', '/api/v2/user/7/provider/', json(200, [{ ...association, extra: 1 }]))).toEqual([
        'body/0 must NOT have unevaluated properties {"unevaluatedProperty":"extra"}',
      ]);
      expect(
        contractProblems('GET', '/api/v2/user/7/provider/', json(200, [{ ...association, user_id: '7' }])),
      ).toEqual(['body/0/user_id must be integer {"type":"integer"}']);
      expect(contractProblems('GET', '/api/v2/user/7/provider/', json(404, problem))[0]).toMatch(
        /content type application\/json; charset=utf-8 is not documented/,
      );
      expect(
        contractProblems(
          'GET',
          '/api/v2/user/7/provider/',
          json(404, { ...problem, errors: [{ code: 'x' }] }, 'application/problem+json'),
        ).length,
      ).toBeGreaterThan(0);
      expect(contractProblems('DELETE', '/api/v2/user/7/provider/', json(204, {}))).toEqual([
        'the status is documented without a body, but the response has one',
      ]);
    });

    it('accepts only a problem+json 404/405 from paths and methods the document does not have', () => {
      const notFound = json(404, problem, 'application/problem+json; charset=utf-8');
      expect(contractProblems('GET', '/nope', notFound)).toEqual([]);
      expect(contractProblems('PUT', '/api/v2/user/7/provider/', notFound)).toEqual([]);
      expect(contractProblems('GET', '/nope', json(200, {}))).toEqual(['/nope is not in the document']);
      expect(contractProblems('GET', '/nope', json(404, { error: 'Not Found' }))[0]).toMatch(/content type/);
    });
  });
});
