import { describe, expect, it } from 'vitest';
import { request } from '../support/http';
import { expectProblem, problems } from '../support/problem';
import { tokenFor } from '../support/tokens';
import { useTestApp } from '../support/use-test-app';

const CAP = 3;

/** MAX_ASSOCIATIONS_PER_USER bounds what one user holds, and so every list answer. */
describe('the most associations a user may hold (MAX_ASSOCIATIONS_PER_USER)', () => {
  const t = useTestApp({ MAX_ASSOCIATIONS_PER_USER: String(CAP) });
  const f = t.f;

  const create = (userId: number, extId: string, token = tokenFor(userId)) =>
    request(t.baseUrl, 'POST', `/api/v2/user/${userId}/provider/`, {
      token,
      body: { provider: 'google', ext_id: extId },
    });
  const remove = (userId: number, extId: string) =>
    request(t.baseUrl, 'DELETE', `/api/v2/user/${userId}/provider/`, {
      token: tokenFor(userId),
      body: { provider: 'google', ext_id: extId },
    });

  it('409 too_many_associations past the cap, nothing written; after an unlink there is room again', async () => {
    const user = await f.makeUser();
    for (let i = 0; i < CAP; i++) expect((await create(user.id, `g-${i}`)).status).toBe(201);
    const refused = await create(user.id, 'g-extra');
    expectProblem(refused, problems.tooManyAssociations(/already holds 3 associations/));
    expect(await f.countAssociations(user.id)).toBe(CAP);
    expect(await f.auditEvents()).toHaveLength(CAP);

    expect((await remove(user.id, 'g-0')).status).toBe(204);
    expect((await create(user.id, 'g-extra')).status).toBe(201);
  });

  it('the same for an admin, and for the path-less route', async () => {
    const [user, admin] = [await f.makeUser(), await f.makeAdmin()];
    for (let i = 0; i < CAP; i++) await f.link(user.id, { ext_id: `a-${i}` });
    expectProblem(await create(user.id, 'a-extra', tokenFor(admin.id)), problems.tooManyAssociations());
    const pathless = await request(t.baseUrl, 'POST', '/api/v2/user/provider/', {
      token: tokenFor(user.id),
      body: { user_id: user.id, provider: 'google', ext_id: 'a-extra' },
    });
    expectProblem(pathless, problems.tooManyAssociations());
  });

  it('20 parallel creates for one user holding 1: exactly 2 more succeed, the rest are 409', async () => {
    const user = await f.makeUser();
    await f.link(user.id, { ext_id: 'held' });
    const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => create(user.id, `p-${i}`)));
    const statuses = responses.map((response) => response.status);
    expect(statuses.filter((status) => status === 201)).toHaveLength(CAP - 1);
    expect(statuses.filter((status) => status === 409)).toHaveLength(20 - (CAP - 1));
    expect(await f.countAssociations(user.id)).toBe(CAP);
  });

  it('the cap is per user: another user is not affected', async () => {
    const [full, other] = [await f.makeUser(), await f.makeUser()];
    for (let i = 0; i < CAP; i++) await f.link(full.id, { ext_id: `f-${i}` });
    expect((await create(other.id, 'o-1')).status).toBe(201);
  });

  it('the operator CLI path (the service) is held to the cap too', async () => {
    const user = await f.makeUser();
    for (let i = 0; i < CAP; i++) await f.link(user.id, { ext_id: `c-${i}` });
    await expect(f.link(user.id, { ext_id: 'c-extra' })).rejects.toMatchObject({ code: 'too_many_associations' });
  });

  it('404 (not the cap) for an admin creating for a user that does not exist', async () => {
    const admin = await f.makeAdmin();
    expectProblem(await create(987_654, 'x', tokenFor(admin.id)), problems.notFound());
  });
});
