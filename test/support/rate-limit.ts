import { afterEach, expect } from 'vitest';
import { createTestApp, TestApp } from './create-test-app';
import { request, TestResponse } from './http';
import { expectProblem, problems } from './problem';

/**
 * `boot(env)` for the calling file: an app per call, closed (its database dropped) after the test
 * that booted it, so each test counts from zero. The hook is the caller's: test files share a worker
 * and its modules (isolate: false), so a hook registered when this module loads would only run in
 * the first file that imported it, and the apps of the next file would never be closed.
 */
export function useRateLimitedApps(): (env: Record<string, string>) => Promise<TestApp> {
  const apps: TestApp[] = [];
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((t) => t.close()));
  });
  return async (env) => {
    const t = await createTestApp(env);
    apps.push(t);
    return t;
  };
}

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
