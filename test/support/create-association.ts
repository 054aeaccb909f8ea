import { expect } from 'vitest';
import { request, TestResponse } from './http';
import { TestAppHandle } from './use-test-app';

export const BODY_ROUTE = '/api/v2/user/provider/';
export const pathRoute = (id: number | string): string => `/api/v2/user/${id}/provider/`;

/** Requests and checks of the POST /api/v2/user/(:id/)provider/ files, against the app of `t`. */
export function createHelpers(t: TestAppHandle) {
  const f = t.f;

  const create = (path: string, token: string | undefined, body: unknown): Promise<TestResponse> =>
    request(t.baseUrl, 'POST', path, { token, body });

  /** Asserts a failed create changed nothing: no association, no audit event. */
  async function expectNothingWritten(): Promise<void> {
    expect(await f.countAssociations()).toBe(0);
    expect(await f.auditEvents()).toEqual([]);
  }

  return { create, expectNothingWritten };
}
