import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, TestApp } from '../support/create-test-app';
import { factories } from '../support/factories';
import { request, TestResponse } from '../support/http';
import { expectProblem } from '../support/problem';
import { tokenFor } from '../support/tokens';

/**
 * Issue #3's concurrency acceptance for DELETE: 20 parallel deletes of one
 * association give exactly one 204; a user with two associations and no
 * password deleting both in parallel keeps exactly one. Run on SQLite and
 * PostgreSQL (DATABASE_URL).
 */
describe('DELETE /api/v2/user/:id/provider/ under concurrency', () => {
  let t: TestApp;
  let f: ReturnType<typeof factories>;
  beforeAll(async () => {
    t = await createTestApp();
    f = factories(t);
  });
  afterAll(() => t.close());
  beforeEach(() => t.reset());

  const del = (userId: number, token: string, provider: string, extId: string): Promise<TestResponse> =>
    request(t.baseUrl, 'DELETE', `/api/v2/user/${userId}/provider/`, {
      token,
      body: { user_id: userId, provider, ext_id: extId },
    });

  const deletedEvents = async () =>
    (await f.auditEvents()).filter((event) => event.action === 'social_association.deleted');

  it('a passwordless non-admin deleting both of two associations in parallel: one 204, one 409, one left (10 rounds)', async () => {
    for (let round = 0; round < 10; round++) {
      const user = await f.makeUser({ has_usable_password: false });
      await f.link(user.id, { provider: 'google', ext_id: `g-${round}` });
      await f.link(user.id, { provider: 'github', ext_id: `gh-${round}` });
      const token = tokenFor(user.id);

      const [first, second] = await Promise.all([
        del(user.id, token, 'google', `g-${round}`),
        del(user.id, token, 'github', `gh-${round}`),
      ]);

      const statuses = [first.status, second.status].sort();
      expect(statuses, `round ${round}: ${first.text} | ${second.text}`).toEqual([204, 409]);
      const refused = first.status === 409 ? first : second;
      expectProblem(refused, 409, { code: 'last_sign_in_method' });
      expect(await f.countAssociations(user.id), `round ${round}`).toBe(1);

      // The one left is the one whose delete was refused.
      const left = await request(t.baseUrl, 'GET', `/api/v2/user/${user.id}/provider/`, { token });
      expect(left.body).toEqual([
        expect.objectContaining(
          refused === first
            ? { provider: 'google', ext_id: `g-${round}` }
            : { provider: 'github', ext_id: `gh-${round}` },
        ),
      ]);
      const events = (await deletedEvents()).filter((event) => event.target_user_id === user.id);
      expect(events, `round ${round}`).toHaveLength(1);
    }
  });

  it('a passwordless non-admin deleting all of five associations in parallel keeps exactly one', async () => {
    const user = await f.makeUser({ has_usable_password: false });
    const extIds = ['a', 'b', 'c', 'd', 'e'];
    for (const extId of extIds) await f.link(user.id, { provider: 'keycloak', ext_id: extId });
    const token = tokenFor(user.id);

    const responses = await Promise.all(extIds.map((extId) => del(user.id, token, 'keycloak', extId)));

    const statuses = responses.map((r) => r.status).sort();
    expect(statuses, responses.map((r) => r.text).join('\n')).toEqual([204, 204, 204, 204, 409]);
    expect(await f.countAssociations(user.id)).toBe(1);
    expect(await deletedEvents()).toHaveLength(4);
  });

  it('a non-admin with a usable password deleting both of two associations in parallel: two 204s, none left', async () => {
    const user = await f.makeUser({ has_usable_password: true });
    await f.link(user.id, { provider: 'google', ext_id: 'g' });
    await f.link(user.id, { provider: 'github', ext_id: 'gh' });
    const token = tokenFor(user.id);

    const responses = await Promise.all([del(user.id, token, 'google', 'g'), del(user.id, token, 'github', 'gh')]);

    expect(
      responses.map((r) => r.status),
      responses.map((r) => r.text).join('\n'),
    ).toEqual([204, 204]);
    expect(await f.countAssociations(user.id)).toBe(0);
  });

  it('20 parallel deletes of one association: exactly one 204, nineteen 404, one audit event', async () => {
    const user = await f.makeUser();
    await f.link(user.id, { provider: 'google', ext_id: 'once' });
    await f.link(user.id, { provider: 'google', ext_id: 'stays' });
    const token = tokenFor(user.id);

    const responses = await Promise.all(Array.from({ length: 20 }, () => del(user.id, token, 'google', 'once')));

    const statuses = responses.map((r) => r.status).sort();
    expect(statuses, responses.map((r) => r.text).join('\n')).toEqual([204, ...Array<number>(19).fill(404)]);
    for (const res of responses.filter((r) => r.status === 404)) {
      expectProblem(res, 404, { code: 'not_found', detail: /has no \S+ association/ });
    }
    expect(responses.find((r) => r.status === 204)!.text).toBe('');
    expect(await f.countAssociations(user.id)).toBe(1);
    expect(await deletedEvents()).toHaveLength(1);
  });

  it('20 parallel deletes of one association by an admin: exactly one 204', async () => {
    const admin = await f.makeAdmin();
    const user = await f.makeUser({ has_usable_password: false });
    await f.link(user.id, { provider: 'azure-ad', ext_id: 'oid-1' });
    const token = tokenFor(admin.id);

    const responses = await Promise.all(Array.from({ length: 20 }, () => del(user.id, token, 'azure-ad', 'oid-1')));

    const statuses = responses.map((r) => r.status).sort();
    expect(statuses, responses.map((r) => r.text).join('\n')).toEqual([204, ...Array<number>(19).fill(404)]);
    expect(await f.countAssociations(user.id)).toBe(0);
    expect(await deletedEvents()).toHaveLength(1);
  });
});
