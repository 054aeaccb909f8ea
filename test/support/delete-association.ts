import { expect } from 'vitest';
import { request, RequestOptions, TestResponse } from './http';
import { tokenFor } from './tokens';
import { TestAppHandle } from './use-test-app';

export const MAX_ID = 2_147_483_647;
export const DELETED = 'social_association.deleted';

/** Requests and checks of the DELETE /api/v2/user/:id/provider/ files, against the app of `t`. */
export function deleteHelpers(t: TestAppHandle) {
  const f = t.f;

  const path = (id: number | string, trailingSlash = true) => `/api/v2/user/${id}/provider${trailingSlash ? '/' : ''}`;
  const del = (id: number | string, options: RequestOptions = {}, suffix = '/') =>
    request(t.baseUrl, 'DELETE', `/api/v2/user/${id}/provider${suffix}`, options);
  const json = (rawBody: string, options: RequestOptions = {}): RequestOptions => ({
    ...options,
    rawBody,
    headers: { 'content-type': 'application/json', ...options.headers },
  });

  function expectNoContent(response: TestResponse): void {
    expect(response.status, response.text).toBe(204);
    expect(response.text).toBe('');
    expect(response.headers.get('content-type')).toBeNull();
  }

  async function deletedEvents(): Promise<Record<string, unknown>[]> {
    return (await f.auditEvents()).filter((event) => event.action === DELETED);
  }

  /** A user with one google association (ext_id '123') plus a second one that must survive. */
  async function userWithAssociation(overrides: Parameters<typeof f.makeUser>[0] = {}) {
    const user = await f.makeUser(overrides);
    await f.link(user.id, { provider: 'google', ext_id: '123' });
    await f.link(user.id, { provider: 'facebook', ext_id: '123' });
    return { user, token: tokenFor(user.id) };
  }

  /** The association google/123 of the user is gone, the facebook one is still there, one audit event. */
  async function expectDeletedOnly(userId: number): Promise<void> {
    expect(await f.countAssociations(userId)).toBe(1);
    expect(await f.countAssociations()).toBe(1);
    expect(await deletedEvents()).toHaveLength(1);
  }

  /** Nothing changed: the arranged association count is intact and no delete was audited. */
  async function expectUnchanged(associationsBefore: number): Promise<void> {
    expect(await f.countAssociations()).toBe(associationsBefore);
    expect(await deletedEvents()).toHaveLength(0);
  }

  return { path, del, json, expectNoContent, deletedEvents, userWithAssociation, expectDeletedOnly, expectUnchanged };
}
