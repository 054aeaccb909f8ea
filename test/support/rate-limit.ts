import { afterEach, expect } from 'vitest';
import { createTestApp, TestApp } from './create-test-app';
import { request, TestResponse } from './http';
import { expectProblem, problems } from './problem';

/** Apps booted by the current test, closed after it: each test counts from zero. */
const apps: TestApp[] = [];
export async function boot(env: Record<string, string>): Promise<TestApp> {
  const t = await createTestApp(env);
  apps.push(t);
  return t;
}
afterEach(async () => {
  await Promise.all(apps.splice(0).map((t) => t.close()));
});

export const me = (t: TestApp, token: string): Promise<TestResponse> =>
  request(t.baseUrl, 'GET', '/api/v2/user/me/', { token });
/** A route open to anonymous callers. */
export const publicList = (t: TestApp, userId: number): Promise<TestResponse> =>
  request(t.baseUrl, 'GET', `/api/v2/user/${userId}/provider/`);

export function expectThrottled(res: TestResponse): void {
  expectProblem(res, problems.throttled());
  const retryAfter = Number(res.headers.get('retry-after'));
  expect(Number.isInteger(retryAfter), `Retry-After: ${res.headers.get('retry-after')}`).toBe(true);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
}
