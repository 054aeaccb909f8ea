import { expect } from 'vitest';
import { TestResponse } from './http';

/**
 * Asserts a contract error: status, problem+json content type, RFC 9457 members,
 * the `errors` array, and a request id that matches the X-Request-Id header.
 */
export function expectProblem(
  response: TestResponse,
  status: number,
  expected: { field?: string; code?: string; detail?: RegExp | string; instance?: string } = {},
): void {
  expect(response.status, response.text).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const body = response.body;
  expect(body).toMatchObject({ type: 'about:blank', status, title: expect.any(String), detail: expect.any(String) });
  expect(typeof body.instance).toBe('string');
  if (expected.instance) expect(body.instance).toBe(expected.instance);
  expect(body.request_id).toBe(response.headers.get('x-request-id'));
  expect(Array.isArray(body.errors) && body.errors.length > 0).toBe(true);
  if (expected.detail) expect(body.detail).toMatch(expected.detail);
  if (expected.field) {
    const fieldError = body.errors.find((e: { field?: string }) => e.field === expected.field);
    expect(fieldError, `errors has no item for field ${expected.field}: ${response.text}`).toBeDefined();
    expect(fieldError.messages[0]).toMatchObject({
      code: expected.code ?? expect.any(String),
      message: expect.any(String),
    });
  } else if (expected.code) {
    expect(body.errors).toContainEqual({ code: expected.code, message: expect.any(String) });
  }
}
