import { describe, expect, it } from 'vitest';
import { deleteHelpers, MAX_ID } from '../support/delete-association';
import { expectProblem, problems } from '../support/problem';
import { tokenFor } from '../support/tokens';
import { useTestApp } from '../support/use-test-app';

describe('DELETE /api/v2/user/:id/provider/', () => {
  const t = useTestApp();
  const f = t.f;
  const { path, del, json, expectNoContent, deletedEvents, userWithAssociation, expectDeletedOnly, expectUnchanged } =
    deleteHelpers(t);

  describe('204', () => {
    it('204 with an empty body when the user deletes their own association', async () => {
      const { user, token } = await userWithAssociation();
      expectNoContent(await del(user.id, { token, body: { ext_id: '123', provider: 'google' } }));
      await expectDeletedOnly(user.id);
    });

    it("204 for an admin deleting another user's association", async () => {
      const { user } = await userWithAssociation();
      const admin = await f.makeAdmin();
      expectNoContent(await del(user.id, { token: tokenFor(admin.id), body: { ext_id: '123', provider: 'google' } }));
      await expectDeletedOnly(user.id);
    });

    it('204 with user_id in the body equal to the path id', async () => {
      const { user, token } = await userWithAssociation();
      expectNoContent(await del(user.id, { token, body: { ext_id: '123', provider: 'google', user_id: user.id } }));
      await expectDeletedOnly(user.id);
    });

    it('204 with user_id in the body as a numeric string equal to the path id', async () => {
      const { user, token } = await userWithAssociation();
      expectNoContent(
        await del(user.id, { token, body: { ext_id: '123', provider: 'google', user_id: String(user.id) } }),
      );
      await expectDeletedOnly(user.id);
    });

    it('204 without the trailing slash', async () => {
      const { user, token } = await userWithAssociation();
      expectNoContent(await del(user.id, { token, body: { ext_id: '123', provider: 'google' } }, ''));
      await expectDeletedOnly(user.id);
    });

    it('204 with ext_id and provider in the query string and no body', async () => {
      const { user, token } = await userWithAssociation();
      expectNoContent(await del(user.id, { token }, '/?ext_id=123&provider=google'));
      await expectDeletedOnly(user.id);
    });

    it('204 with the query-string form without the trailing slash', async () => {
      const { user, token } = await userWithAssociation();
      expectNoContent(await del(user.id, { token }, '?ext_id=123&provider=google'));
      await expectDeletedOnly(user.id);
    });

    it('204 with the query-string form and an empty body sent as application/json', async () => {
      const { user, token } = await userWithAssociation();
      expectNoContent(await del(user.id, json('', { token }), '/?ext_id=123&provider=google'));
      await expectDeletedOnly(user.id);
    });

    it('204 with the query-string form and an empty JSON object as body', async () => {
      const { user, token } = await userWithAssociation();
      expectNoContent(await del(user.id, { token, body: {} }, '/?ext_id=123&provider=google'));
      await expectDeletedOnly(user.id);
    });

    it('204 when body and query string agree', async () => {
      const { user, token } = await userWithAssociation();
      expectNoContent(
        await del(user.id, { token, body: { ext_id: 123, provider: 'google' } }, '/?ext_id=123&provider=google'),
      );
      await expectDeletedOnly(user.id);
    });

    it('204 when body and query string complete each other', async () => {
      const { user, token } = await userWithAssociation();
      expectNoContent(await del(user.id, { token, body: { ext_id: '123' } }, '/?provider=google'));
      await expectDeletedOnly(user.id);
    });

    it('204 when ext_id is a JSON number matching the stored decimal string', async () => {
      const { user, token } = await userWithAssociation();
      expectNoContent(await del(user.id, { token, body: { ext_id: 123, provider: 'google' } }));
      await expectDeletedOnly(user.id);
    });

    it.each([0, '0'])('204 for ext_id %j matching the stored "0"', async (extId) => {
      const user = await f.makeUser();
      await f.link(user.id, { provider: 'github', ext_id: '0' });
      expectNoContent(await del(user.id, { token: tokenFor(user.id), body: { ext_id: extId, provider: 'github' } }));
      expect(await f.countAssociations()).toBe(0);
      expect(await deletedEvents()).toMatchObject([{ provider: 'github', ext_id: '0' }]);
    });

    it('204 for the largest safe integer ext_id given as a JSON number', async () => {
      const user = await f.makeUser();
      await f.link(user.id, { provider: 'twitter', ext_id: String(Number.MAX_SAFE_INTEGER) });
      expectNoContent(
        await del(user.id, {
          token: tokenFor(user.id),
          body: { ext_id: Number.MAX_SAFE_INTEGER, provider: 'twitter' },
        }),
      );
      expect(await f.countAssociations()).toBe(0);
    });

    it('204 for an ext_id of 255 characters', async () => {
      const user = await f.makeUser();
      const extId = 'x'.repeat(255);
      await f.link(user.id, { provider: 'keycloak', ext_id: extId });
      expectNoContent(await del(user.id, { token: tokenFor(user.id), body: { ext_id: extId, provider: 'keycloak' } }));
      expect(await f.countAssociations()).toBe(0);
    });

    it('204 for an ext_id of 255 emoji (255 code points, 510 UTF-16 code units)', async () => {
      const user = await f.makeUser();
      const extId = '😀'.repeat(255);
      await f.link(user.id, { provider: 'keycloak', ext_id: extId });
      expectNoContent(await del(user.id, { token: tokenFor(user.id), body: { ext_id: extId, provider: 'keycloak' } }));
      expect(await f.countAssociations()).toBe(0);
    });

    it.each([
      ['emoji', '🙂👍🏽-user'],
      ['CJK', '用户标识-ユーザー-사용자'],
      ['accents and RTL', 'José-Ünïcødé-مستخدم'],
    ])('204 for a unicode ext_id (%s), in the body and in the query string', async (_name, extId) => {
      const user = await f.makeUser();
      await f.link(user.id, { provider: 'azure-ad', ext_id: extId });
      await f.link(user.id, { provider: 'keycloak', ext_id: extId });
      const token = tokenFor(user.id);
      expectNoContent(await del(user.id, { token, body: { ext_id: extId, provider: 'azure-ad' } }));
      expectNoContent(await del(user.id, { token }, `/?ext_id=${encodeURIComponent(extId)}&provider=keycloak`));
      expect(await f.countAssociations()).toBe(0);
      expect(await deletedEvents()).toMatchObject([{ ext_id: extId }, { ext_id: extId }]);
    });

    it('204 for the largest id, 2147483647', async () => {
      await t.dataSource.query(`INSERT INTO users (id, username) VALUES (${MAX_ID}, 'max_id_user')`);
      await f.link(MAX_ID, { provider: 'google', ext_id: 'max' });
      expectNoContent(await del(MAX_ID, { token: tokenFor(MAX_ID), body: { ext_id: 'max', provider: 'google' } }));
      expect(await f.countAssociations(MAX_ID)).toBe(0);
    });

    it('204 for a user with a usable password deleting their last association', async () => {
      const user = await f.makeUser({ has_usable_password: true });
      await f.link(user.id, { provider: 'google', ext_id: '123' });
      expectNoContent(await del(user.id, { token: tokenFor(user.id), body: { ext_id: '123', provider: 'google' } }));
      expect(await f.countAssociations()).toBe(0);
    });
  });

  describe('401', () => {
    it('401 without a token, with WWW-Authenticate: Bearer', async () => {
      const { user } = await userWithAssociation();
      const response = await del(user.id, { body: { ext_id: '123', provider: 'google' } });
      expectProblem(response, problems.notAuthenticated(), { instance: path(user.id) });
      expect(response.headers.get('www-authenticate')).toBe('Bearer');
      await expectUnchanged(2);
    });

    it('401 without a token even when the body is invalid', async () => {
      const { user } = await userWithAssociation();
      const response = await del(user.id, { body: { ext_id: true, provider: 'Google', extra: 1 } });
      expectProblem(response, problems.notAuthenticated());
      expect(response.headers.get('www-authenticate')).toBe('Bearer');
    });

    it('401 without a token for a malformed id', async () => {
      const response = await del('abc', { body: { ext_id: '123', provider: 'google' } });
      expectProblem(response, problems.notAuthenticated());
    });

    it('401 for an invalid token', async () => {
      const { user } = await userWithAssociation();
      const response = await del(user.id, { token: 'not-a-jwt', body: { ext_id: '123', provider: 'google' } });
      expectProblem(response, problems.notAuthenticated());
      expect(response.headers.get('www-authenticate')).toBe('Bearer');
      await expectUnchanged(2);
    });
  });

  describe('403', () => {
    it('403 for another non-admin user, and the association survives', async () => {
      const { user } = await userWithAssociation();
      const intruder = await f.makeUser();
      const response = await del(user.id, {
        token: tokenFor(intruder.id),
        body: { ext_id: '123', provider: 'google' },
      });
      expectProblem(response, problems.permissionDenied(), { instance: path(user.id) });
      await expectUnchanged(2);
    });

    it('403 for another non-admin user, even when that user does not exist', async () => {
      const { user } = await userWithAssociation();
      const intruder = await f.makeUser();
      const token = tokenFor(intruder.id);
      const existing = await del(user.id, { token, body: { ext_id: '123', provider: 'google' } });
      const missing = await del(user.id + 1000, { token, body: { ext_id: '123', provider: 'google' } });
      expectProblem(missing, problems.permissionDenied());
      // Nothing tells the two apart.
      expect(missing.body.detail).toBe(existing.body.detail);
      expect(missing.body.errors).toEqual(existing.body.errors);
    });

    it('403 for another non-admin user, even when the body is invalid', async () => {
      const { user } = await userWithAssociation();
      const intruder = await f.makeUser();
      const response = await del(user.id, { token: tokenFor(intruder.id), body: { ext_id: true } });
      expectProblem(response, problems.permissionDenied());
    });

    it.each(['moderator', 'editor'] as const)('403 for a %s on the association of another user', async (role) => {
      const { user } = await userWithAssociation();
      const staff = await f.makeUser({ role });
      const response = await del(user.id, { token: tokenFor(staff.id), body: { ext_id: '123', provider: 'google' } });
      expectProblem(response, problems.permissionDenied());
      await expectUnchanged(2);
    });

    it('403 when the path names another user even if body user_id names the caller', async () => {
      const { user } = await userWithAssociation();
      const intruder = await f.makeUser();
      const response = await del(user.id, {
        token: tokenFor(intruder.id),
        body: { ext_id: '123', provider: 'google', user_id: intruder.id },
      });
      expectProblem(response, problems.permissionDenied());
      await expectUnchanged(2);
    });

    it('403 for another non-admin user using the query-string form', async () => {
      const { user } = await userWithAssociation();
      const intruder = await f.makeUser();
      const response = await del(user.id, { token: tokenFor(intruder.id) }, '/?ext_id=123&provider=google');
      expectProblem(response, problems.permissionDenied());
      await expectUnchanged(2);
    });
  });

  describe('404', () => {
    it('404 when the user has no such association', async () => {
      const { user, token } = await userWithAssociation();
      const response = await del(user.id, { token, body: { ext_id: '999', provider: 'google' } });
      expectProblem(response, problems.notFound(/has no \S+ association/), { instance: path(user.id) });
      await expectUnchanged(2);
    });

    it('404 when the ext_id exists under another provider', async () => {
      const { user, token } = await userWithAssociation();
      const response = await del(user.id, { token, body: { ext_id: '123', provider: 'twitter' } });
      expectProblem(response, problems.notFound(/has no \S+ association/));
      await expectUnchanged(2);
    });

    it("404 when a user names another user's association on their own path, which survives", async () => {
      const { user: owner } = await userWithAssociation();
      const other = await f.makeUser();
      const response = await del(other.id, { token: tokenFor(other.id), body: { ext_id: '123', provider: 'google' } });
      expectProblem(response, problems.notFound(/has no \S+ association/));
      expect(await f.countAssociations(owner.id)).toBe(2);
      await expectUnchanged(2);
    });

    it("404 when an admin names a user's association under another user's id, which survives", async () => {
      const { user: owner } = await userWithAssociation();
      const other = await f.makeUser();
      const admin = await f.makeAdmin();
      const response = await del(other.id, { token: tokenFor(admin.id), body: { ext_id: '123', provider: 'google' } });
      expectProblem(response, problems.notFound(/has no \S+ association/));
      expect(await f.countAssociations(owner.id)).toBe(2);
      await expectUnchanged(2);
    });

    it('404 for an admin when the user does not exist', async () => {
      await userWithAssociation();
      const admin = await f.makeAdmin();
      const response = await del(MAX_ID, { token: tokenFor(admin.id), body: { ext_id: '123', provider: 'google' } });
      expectProblem(response, problems.notFound(/^User \d+ does not exist$/), { instance: path(MAX_ID) });
      await expectUnchanged(2);
    });

    it('404 the second time the same association is deleted', async () => {
      const { user, token } = await userWithAssociation();
      expectNoContent(await del(user.id, { token, body: { ext_id: '123', provider: 'google' } }));
      expectProblem(
        await del(user.id, { token, body: { ext_id: '123', provider: 'google' } }),
        problems.notFound(/has no \S+ association/),
      );
      await expectDeletedOnly(user.id);
    });

    it('404 for an ext_id that differs only in case or surrounding spaces', async () => {
      const user = await f.makeUser();
      await f.link(user.id, { provider: 'keycloak', ext_id: 'AbC' });
      const token = tokenFor(user.id);
      for (const extId of ['abc', 'ABC', ' AbC', 'AbC ']) {
        expectProblem(
          await del(user.id, { token, body: { ext_id: extId, provider: 'keycloak' } }),
          problems.notFound(/has no \S+ association/),
        );
      }
      await expectUnchanged(1);
    });
  });

  describe('409', () => {
    it('409 when a passwordless user deletes their only association, which survives', async () => {
      const user = await f.makeUser({ has_usable_password: false });
      await f.link(user.id, { provider: 'google', ext_id: '123' });
      const response = await del(user.id, { token: tokenFor(user.id), body: { ext_id: '123', provider: 'google' } });
      expectProblem(response, problems.lastSignInMethod(), { instance: path(user.id) });
      await expectUnchanged(1);
      expect(await f.countAssociations(user.id)).toBe(1);
    });

    it('204 then 409 for a passwordless user deleting both of their two associations', async () => {
      const { user, token } = await userWithAssociation({ has_usable_password: false });
      expectNoContent(await del(user.id, { token, body: { ext_id: '123', provider: 'google' } }));
      expectProblem(
        await del(user.id, { token, body: { ext_id: '123', provider: 'facebook' } }),
        problems.lastSignInMethod(),
      );
      expect(await f.countAssociations(user.id)).toBe(1);
      expect(await deletedEvents()).toMatchObject([{ provider: 'google' }]);
    });

    it('204 for an admin deleting the last association of a passwordless user', async () => {
      const user = await f.makeUser({ has_usable_password: false });
      await f.link(user.id, { provider: 'google', ext_id: '123' });
      const admin = await f.makeAdmin();
      expectNoContent(await del(user.id, { token: tokenFor(admin.id), body: { ext_id: '123', provider: 'google' } }));
      expect(await f.countAssociations(user.id)).toBe(0);
      expect(await deletedEvents()).toHaveLength(1);
    });

    it('204 for a passwordless admin deleting their own last association (only non-admins are protected)', async () => {
      const admin = await f.makeAdmin({ has_usable_password: false });
      await f.link(admin.id, { provider: 'google', ext_id: '123' });
      expectNoContent(await del(admin.id, { token: tokenFor(admin.id), body: { ext_id: '123', provider: 'google' } }));
      expect(await f.countAssociations()).toBe(0);
    });

    it('404, not 409, for a passwordless user naming an association they do not have', async () => {
      const user = await f.makeUser({ has_usable_password: false });
      await f.link(user.id, { provider: 'google', ext_id: '123' });
      const response = await del(user.id, { token: tokenFor(user.id), body: { ext_id: '999', provider: 'google' } });
      expectProblem(response, problems.notFound(/has no \S+ association/));
      await expectUnchanged(1);
    });
  });
});
