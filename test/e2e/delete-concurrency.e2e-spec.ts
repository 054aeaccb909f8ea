import { describe, expect, it } from 'vitest';
import { request, TestResponse } from '../support/http';
import { expectProblem, problems } from '../support/problem';
import { tokenFor } from '../support/tokens';
import { useTestApp } from '../support/use-test-app';

/**
 * Issue #3's concurrency acceptance for DELETE, on the embedded engine and on a PostgreSQL server
 * (DATABASE_URL): parallel deletes of one association give exactly one 204, and
 * a user without a password deleting several at once keeps exactly one.
 */
describe('DELETE /api/v2/user/:id/provider/ (concurrency)', () => {
  const t = useTestApp();
  const f = t.f;

  const del = (userId: number, token: string, body: Record<string, unknown>) =>
    request(t.baseUrl, 'DELETE', `/api/v2/user/${userId}/provider/`, { token, body });

  const statuses = (responses: TestResponse[]) => responses.map((response) => response.status).sort();

  async function deletedEvents(): Promise<Record<string, unknown>[]> {
    return (await f.auditEvents()).filter((event) => event.action === 'social_association.deleted');
  }

  it('20 parallel deletes of one association: exactly one 204, the rest 404, one audit event', async () => {
    const user = await f.makeUser();
    await f.link(user.id, { provider: 'google', ext_id: '123' });
    await f.link(user.id, { provider: 'google', ext_id: 'other' });
    const token = tokenFor(user.id);

    const responses = await Promise.all(
      Array.from({ length: 20 }, () => del(user.id, token, { ext_id: '123', provider: 'google' })),
    );

    expect(statuses(responses)).toEqual([204, ...Array<number>(19).fill(404)]);
    const winner = responses.find((response) => response.status === 204)!;
    expect(winner.text).toBe('');
    for (const response of responses.filter((r) => r.status === 404)) {
      expectProblem(response, problems.notFound(/has no \S+ association/));
    }
    expect(await f.countAssociations(user.id)).toBe(1);
    expect(await deletedEvents()).toEqual([
      expect.objectContaining({ ext_id: '123', provider: 'google', request_id: winner.headers.get('x-request-id') }),
    ]);
  });

  it('20 parallel deletes of one association by an admin: exactly one 204, the rest 404', async () => {
    const user = await f.makeUser({ has_usable_password: false });
    await f.link(user.id, { provider: 'keycloak', ext_id: 'k-1' });
    const admin = await f.makeAdmin();
    const token = tokenFor(admin.id);

    const responses = await Promise.all(
      Array.from({ length: 20 }, () => del(user.id, token, { ext_id: 'k-1', provider: 'keycloak' })),
    );

    expect(statuses(responses)).toEqual([204, ...Array<number>(19).fill(404)]);
    expect(await f.countAssociations(user.id)).toBe(0);
    expect(await deletedEvents()).toHaveLength(1);
  });

  it('a passwordless user deleting both of two associations in parallel: one 204, one 409, one left (10 rounds)', async () => {
    for (let round = 0; round < 10; round++) {
      const user = await f.makeUser({ has_usable_password: false });
      await f.link(user.id, { provider: 'google', ext_id: `g-${round}` });
      await f.link(user.id, { provider: 'github', ext_id: `h-${round}` });
      const token = tokenFor(user.id);

      const [first, second] = await Promise.all([
        del(user.id, token, { ext_id: `g-${round}`, provider: 'google' }),
        del(user.id, token, { ext_id: `h-${round}`, provider: 'github' }),
      ]);

      expect(statuses([first, second]), `round ${round}: ${first.text} | ${second.text}`).toEqual([204, 409]);
      const refused = first.status === 409 ? first : second;
      expectProblem(refused, problems.lastSignInMethod());
      expect(await f.countAssociations(user.id), `round ${round}`).toBe(1);
      // The one left is the one whose delete was refused.
      const left = await request(t.baseUrl, 'GET', `/api/v2/user/${user.id}/provider/`, { token });
      expect(left.body).toEqual([
        expect.objectContaining(
          refused === first
            ? { provider: 'google', ext_id: `g-${round}` }
            : { provider: 'github', ext_id: `h-${round}` },
        ),
      ]);
      const events = (await deletedEvents()).filter((event) => Number(event.target_user_id) === user.id);
      expect(events, `round ${round}`).toHaveLength(1);
    }
  });

  it('a passwordless user deleting three associations in parallel keeps exactly one (10 rounds)', async () => {
    for (let round = 0; round < 10; round++) {
      const user = await f.makeUser({ has_usable_password: false });
      const identities = ['google', 'github', 'apple'].map((provider) => ({
        provider,
        ext_id: `${provider}-${round}`,
      }));
      for (const identity of identities) await f.link(user.id, identity);
      const token = tokenFor(user.id);

      const responses = await Promise.all(identities.map((identity) => del(user.id, token, identity)));

      expect(statuses(responses), `round ${round}`).toEqual([204, 204, 409]);
      expect(await f.countAssociations(user.id), `round ${round}`).toBe(1);
    }
  });

  it('a passwordless user deleting all of five associations in parallel keeps exactly one', async () => {
    const user = await f.makeUser({ has_usable_password: false });
    const extIds = ['a', 'b', 'c', 'd', 'e'];
    for (const extId of extIds) await f.link(user.id, { provider: 'keycloak', ext_id: extId });
    const token = tokenFor(user.id);

    const responses = await Promise.all(
      extIds.map((extId) => del(user.id, token, { ext_id: extId, provider: 'keycloak' })),
    );

    expect(statuses(responses), responses.map((r) => r.text).join('\n')).toEqual([204, 204, 204, 204, 409]);
    expect(await f.countAssociations(user.id)).toBe(1);
    expect(await deletedEvents()).toHaveLength(4);
  });

  it('a user with a usable password deleting both of two associations in parallel: two 204s, none left', async () => {
    const user = await f.makeUser({ has_usable_password: true });
    await f.link(user.id, { provider: 'google', ext_id: 'g' });
    await f.link(user.id, { provider: 'github', ext_id: 'gh' });
    const token = tokenFor(user.id);

    const responses = await Promise.all([
      del(user.id, token, { ext_id: 'g', provider: 'google' }),
      del(user.id, token, { ext_id: 'gh', provider: 'github' }),
    ]);

    expect(statuses(responses), responses.map((r) => r.text).join('\n')).toEqual([204, 204]);
    expect(await f.countAssociations(user.id)).toBe(0);
  });

  it('parallel deletes by different users do not block or affect each other', async () => {
    const users = await Promise.all(Array.from({ length: 8 }, () => f.makeUser({ has_usable_password: false })));
    for (const user of users) {
      await f.link(user.id, { provider: 'google', ext_id: `g-${user.id}` });
      await f.link(user.id, { provider: 'apple', ext_id: `a-${user.id}` });
    }

    const responses = await Promise.all(
      users.map((user) => del(user.id, tokenFor(user.id), { ext_id: `g-${user.id}`, provider: 'google' })),
    );

    expect(statuses(responses)).toEqual(Array<number>(8).fill(204));
    for (const user of users) expect(await f.countAssociations(user.id)).toBe(1);
    expect(await deletedEvents()).toHaveLength(8);
  });
});
