import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { request, RequestOptions, TestResponse } from '../support/http';
import { expectProblem, problems } from '../support/problem';
import { tokenFor } from '../support/tokens';
import { useTestApp } from '../support/use-test-app';

const MAX_ID = 2_147_483_647;
const DELETED = 'social_association.deleted';

describe('DELETE /api/v2/user/:id/provider/', () => {
  const t = useTestApp();
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

  describe('400', () => {
    it('400 when user_id in the body differs from the path id', async () => {
      const { user, token } = await userWithAssociation();
      const other = await f.makeUser();
      const response = await del(user.id, { token, body: { ext_id: '123', provider: 'google', user_id: other.id } });
      expectProblem(response, problems.invalidField('user_id', 'user_id_mismatch'), { instance: path(user.id) });
      await expectUnchanged(2);
    });

    it('400 when user_id in the body is a numeric string that differs from the path id', async () => {
      const { user, token } = await userWithAssociation();
      const response = await del(user.id, {
        token,
        body: { ext_id: '123', provider: 'google', user_id: String(user.id + 1) },
      });
      expectProblem(response, problems.invalidField('user_id', 'user_id_mismatch'));
      await expectUnchanged(2);
    });

    it('400 when an admin sends a user_id that differs from the path id', async () => {
      const { user } = await userWithAssociation();
      const admin = await f.makeAdmin();
      const response = await del(user.id, {
        token: tokenFor(admin.id),
        body: { ext_id: '123', provider: 'google', user_id: admin.id },
      });
      expectProblem(response, problems.invalidField('user_id', 'user_id_mismatch'));
      await expectUnchanged(2);
    });

    it.each([['abc'], [0], [-1], [1.5], ['1.5'], [true], [{}], [[1]], ['99999999999'], [MAX_ID + 1]])(
      '400 for user_id %j in the body',
      async (userId) => {
        const { user, token } = await userWithAssociation();
        const response = await del(user.id, { token, body: { ext_id: '123', provider: 'google', user_id: userId } });
        expectProblem(response, problems.invalidField('user_id', 'invalid'));
        await expectUnchanged(2);
      },
    );

    it.each(['abc', '0', '-1', '1.5', '99999999999', '2147483648', '1e3', '0x10'])(
      '400 for the path id %s (field id), also for a non-admin caller',
      async (id) => {
        const { token } = await userWithAssociation();
        const response = await del(id, { token, body: { ext_id: '123', provider: 'google' } });
        expectProblem(response, problems.invalidField('id', 'invalid'), { instance: path(id) });
        await expectUnchanged(2);
      },
    );

    it('400 problem for a path id longer than the router accepts (120 digits)', async () => {
      const { token } = await userWithAssociation();
      const id = '1'.repeat(120);
      const response = await del(id, { token, body: { ext_id: '123', provider: 'google' } });
      expectProblem(response, problems.invalid(), { instance: path(id) });
      await expectUnchanged(2);
    });

    it.each(['abc', '0', '2147483648'])('400 for the path id %s for an admin caller', async (id) => {
      const admin = await f.makeAdmin();
      const response = await del(id, { token: tokenFor(admin.id), body: { ext_id: '123', provider: 'google' } });
      expectProblem(response, problems.invalidField('id', 'invalid'));
    });

    it('400 when body and query string name different ext_ids (field ext_id)', async () => {
      const { user, token } = await userWithAssociation();
      const response = await del(user.id, { token, body: { ext_id: '123', provider: 'google' } }, '/?ext_id=124');
      expectProblem(response, problems.invalidField('ext_id'));
      await expectUnchanged(2);
    });

    it('400 when body and query string name different providers (field provider)', async () => {
      const { user, token } = await userWithAssociation();
      const response = await del(
        user.id,
        { token, body: { ext_id: '123', provider: 'google' } },
        '/?provider=facebook',
      );
      expectProblem(response, problems.invalidField('provider'));
      await expectUnchanged(2);
    });

    it.each([
      ['missing', {}],
      ['empty', { ext_id: '' }],
      ['256 characters', { ext_id: 'x'.repeat(256) }],
      ['256 emoji', { ext_id: '😀'.repeat(256) }],
      ['256 code points that validator.js counts as 128', { ext_id: 'a\ufe0f'.repeat(128) }],
      ['true', { ext_id: true }],
      ['an object', { ext_id: { id: '123' } }],
      ['an array', { ext_id: ['123'] }],
      ['null', { ext_id: null }],
      ['negative', { ext_id: -1 }],
      ['a float', { ext_id: 1.5 }],
      ['not a safe integer', { ext_id: 2 ** 53 }],
      ['1e21', { ext_id: 1e21 }],
      ['a NUL character', { ext_id: '12\u00003' }],
      ['a newline', { ext_id: '12\n3' }],
      ['a tab', { ext_id: '\t123' }],
      ['DEL', { ext_id: '123\u007f' }],
      ['a C1 control character', { ext_id: '123\u0085' }],
    ])('400 for ext_id %s (field ext_id)', async (_name, body) => {
      const { user, token } = await userWithAssociation();
      const response = await del(user.id, { token, body: { provider: 'google', ...body } });
      expectProblem(response, problems.invalidField('ext_id', 'invalid'));
      await expectUnchanged(2);
    });

    it.each([
      ['a lone high surrogate', '"\\ud800"'],
      ['a lone low surrogate', '"123\\udc00"'],
      ['a reversed surrogate pair', '"\\ude00\\ud83d"'],
    ])('400, not 500, for ext_id with %s', async (_name, rawExtId) => {
      const { user, token } = await userWithAssociation();
      const response = await del(user.id, json(`{"ext_id":${rawExtId},"provider":"google"}`, { token }));
      expectProblem(response, problems.invalidField('ext_id', 'invalid'));
      await expectUnchanged(2);
    });

    it.each([
      ['a NUL character', '12%003'],
      ['empty', ''],
      ['256 characters', 'x'.repeat(256)],
    ])('400 for ext_id with %s in the query string', async (_name, extId) => {
      const { user, token } = await userWithAssociation();
      const response = await del(user.id, { token }, `/?ext_id=${extId}&provider=google`);
      expectProblem(response, problems.invalidField('ext_id', 'invalid'));
      await expectUnchanged(2);
    });

    it('400 for ext_id given twice in the query string', async () => {
      const { user, token } = await userWithAssociation();
      const response = await del(user.id, { token }, '/?ext_id=123&ext_id=124&provider=google');
      expectProblem(response, problems.invalidField('ext_id'));
      await expectUnchanged(2);
    });

    it.each([
      ['missing', {}],
      ['uppercase', { provider: 'Google' }],
      ['too long', { provider: 'p'.repeat(33) }],
      ['empty', { provider: '' }],
      ['starting with a dash', { provider: '-google' }],
      ['with a space', { provider: 'goo gle' }],
      ['a number', { provider: 7 }],
      ['null', { provider: null }],
    ])('400 for provider %s (field provider)', async (_name, body) => {
      const { user, token } = await userWithAssociation();
      const response = await del(user.id, { token, body: { ext_id: '123', ...body } });
      expectProblem(response, problems.invalidField('provider', 'invalid'));
      await expectUnchanged(2);
    });

    it('400 without ext_id and provider at all (no body, no query)', async () => {
      const { user, token } = await userWithAssociation();
      const response = await del(user.id, { token });
      expectProblem(
        response,
        problems.invalidFields([
          ['ext_id', 'invalid'],
          ['provider', 'invalid'],
        ]),
      );
      await expectUnchanged(2);
    });

    it.each(['extra', 'profile_url', 'show_in_profile', 'id'])(
      '400 unknown_field for the body field %s',
      async (field) => {
        const { user, token } = await userWithAssociation();
        const response = await del(user.id, { token, body: { ext_id: '123', provider: 'google', [field]: 'x' } });
        expectProblem(response, problems.invalidField(field, 'unknown_field'));
        await expectUnchanged(2);
      },
    );

    it('400 unknown_field for an unknown query parameter', async () => {
      const { user, token } = await userWithAssociation();
      const response = await del(user.id, { token }, '/?ext_id=123&provider=google&force=true');
      expectProblem(response, problems.invalidField('force', 'unknown_field'));
      await expectUnchanged(2);
    });

    it('400 unknown_field for an unknown query parameter next to a valid body', async () => {
      const { user, token } = await userWithAssociation();
      const response = await del(user.id, { token, body: { ext_id: '123', provider: 'google' } }, '/?foo=bar');
      expectProblem(response, problems.invalidField('foo', 'unknown_field'));
      await expectUnchanged(2);
    });

    it.each([
      ['a JSON array', '[{"ext_id":"123","provider":"google"}]'],
      ['JSON null', 'null'],
      ['a JSON string', '"123"'],
      ['a JSON number', '123'],
      ['JSON true', 'true'],
    ])('400 when the body is %s', async (_name, rawBody) => {
      const { user, token } = await userWithAssociation();
      const response = await del(user.id, json(rawBody, { token }), '/?ext_id=123&provider=google');
      expectProblem(response, problems.invalid(/JSON object/));
      await expectUnchanged(2);
    });

    it.each([
      ['truncated', '{"ext_id":"123","provider":'],
      ['single quotes', "{'ext_id':'123','provider':'google'}"],
      ['trailing comma', '{"ext_id":"123","provider":"google",}'],
      ['not JSON at all', 'ext_id=123&provider=google'],
    ])('400 for malformed JSON (%s)', async (_name, rawBody) => {
      const { user, token } = await userWithAssociation();
      const response = await del(user.id, json(rawBody, { token }));
      expectProblem(response, problems.invalid());
      await expectUnchanged(2);
    });

    it('400, not 500, for a body nested 5000 levels deep', async () => {
      const { user, token } = await userWithAssociation();
      const rawBody = `{"ext_id":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)},"provider":"google"}`;
      const response = await del(user.id, json(rawBody, { token }));
      expectProblem(response, problems.invalid());
      await expectUnchanged(2);
    });

    it('400, not 403, for a non-admin caller sending a malformed id and a valid body', async () => {
      const { token } = await userWithAssociation();
      expectProblem(
        await del('abc', { token, body: { ext_id: '123', provider: 'google', user_id: 999 } }),
        problems.invalidField('id'),
      );
      await expectUnchanged(2);
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

  describe('413 and 415', () => {
    it('415 for Content-Type text/plain', async () => {
      const { user, token } = await userWithAssociation();
      const response = await del(user.id, {
        token,
        rawBody: '{"ext_id":"123","provider":"google"}',
        headers: { 'content-type': 'text/plain' },
      });
      expectProblem(response, problems.unsupportedMediaType());
      await expectUnchanged(2);
    });

    it('415 for Content-Type application/x-www-form-urlencoded', async () => {
      const { user, token } = await userWithAssociation();
      const response = await del(user.id, {
        token,
        rawBody: 'ext_id=123&provider=google',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      expectProblem(response, problems.unsupportedMediaType());
      await expectUnchanged(2);
    });

    it('204 for Content-Type application/json; charset=utf-8', async () => {
      const { user, token } = await userWithAssociation();
      const response = await del(user.id, {
        token,
        rawBody: '{"ext_id":"123","provider":"google"}',
        headers: { 'content-type': 'application/json; charset=utf-8' },
      });
      expectNoContent(response);
      await expectDeletedOnly(user.id);
    });

    it('413 for a body over 64 KiB', async () => {
      const { user, token } = await userWithAssociation();
      const response = await del(user.id, {
        token,
        body: { ext_id: '123', provider: 'google', padding: 'x'.repeat(64 * 1024) },
      });
      expectProblem(response, problems.payloadTooLarge());
      await expectUnchanged(2);
    });
  });

  describe('audit', () => {
    it('each successful delete writes exactly one audit event with actor, target, identity and request id', async () => {
      const { user, token } = await userWithAssociation();
      const response = await del(user.id, { token, body: { ext_id: 123, provider: 'google' } });
      expectNoContent(response);
      const requestId = response.headers.get('x-request-id');
      expect(requestId).toMatch(/^[A-Za-z0-9._:-]{1,64}$/);
      const events = await deletedEvents();
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({
        actor_user_id: user.id,
        action: DELETED,
        target_user_id: user.id,
        provider: 'google',
        ext_id: '123',
        request_id: requestId,
      });
    });

    it('an admin delete records the admin as actor and the user as target', async () => {
      const { user } = await userWithAssociation();
      const admin = await f.makeAdmin();
      const response = await del(user.id, { token: tokenFor(admin.id) }, '/?ext_id=123&provider=google');
      expectNoContent(response);
      expect(await deletedEvents()).toEqual([
        expect.objectContaining({
          actor_user_id: admin.id,
          action: DELETED,
          target_user_id: user.id,
          provider: 'google',
          ext_id: '123',
          request_id: response.headers.get('x-request-id'),
        }),
      ]);
    });

    it('two deletes write two events with their own request ids', async () => {
      const { user, token } = await userWithAssociation();
      const first = await del(user.id, { token, body: { ext_id: '123', provider: 'google' } });
      const second = await del(user.id, { token, body: { ext_id: '123', provider: 'facebook' } });
      expectNoContent(first);
      expectNoContent(second);
      expect(first.headers.get('x-request-id')).not.toBe(second.headers.get('x-request-id'));
      expect((await deletedEvents()).map((event) => event.request_id)).toEqual([
        first.headers.get('x-request-id'),
        second.headers.get('x-request-id'),
      ]);
    });

    it('a failed delete (404, 409) writes no event and changes nothing', async () => {
      const user = await f.makeUser({ has_usable_password: false });
      await f.link(user.id, { provider: 'google', ext_id: '123' });
      const other = await f.makeUser();
      await f.link(other.id, { provider: 'github', ext_id: '9' });
      const token = tokenFor(user.id);
      const eventsBefore = await f.auditEvents();
      expectProblem(
        await del(user.id, { token, body: { ext_id: '9', provider: 'github' } }),
        problems.notFound(`User ${user.id} has no github association with this ext_id`),
      );
      expectProblem(
        await del(user.id, { token, body: { ext_id: '123', provider: 'google' } }),
        problems.lastSignInMethod(),
      );
      expect(await f.countAssociations(user.id)).toBe(1);
      expect(await f.countAssociations(other.id)).toBe(1);
      expect(await f.auditEvents()).toEqual(eventsBefore);
    });
  });

  describe('X-Request-Id', () => {
    it('echoes a safe incoming X-Request-Id and uses it in the audit event', async () => {
      const { user, token } = await userWithAssociation();
      const response = await del(user.id, {
        token,
        body: { ext_id: '123', provider: 'google' },
        headers: { 'x-request-id': 'client-req.42:a_b-c' },
      });
      expectNoContent(response);
      expect(response.headers.get('x-request-id')).toBe('client-req.42:a_b-c');
      expect(await deletedEvents()).toMatchObject([{ request_id: 'client-req.42:a_b-c' }]);
    });

    it('echoes a safe incoming X-Request-Id as request_id in error bodies', async () => {
      const { user, token } = await userWithAssociation();
      const response = await del(user.id, {
        token,
        body: { ext_id: '999', provider: 'google' },
        headers: { 'x-request-id': 'trace-0001' },
      });
      expectProblem(response, problems.notFound(/has no \S+ association/));
      expect(response.body.request_id).toBe('trace-0001');
    });

    it.each([
      ['with spaces', 'has spaces'],
      ['longer than 64 characters', 'a'.repeat(65)],
      ['with a newline escape', 'abc%0d%0aX-Evil: 1'],
      ['with quotes', '"quoted"'],
    ])('replaces an unsafe incoming X-Request-Id (%s) with its own', async (_name, incoming) => {
      const { user, token } = await userWithAssociation();
      const response = await del(user.id, {
        token,
        body: { ext_id: '999', provider: 'google' },
        headers: { 'x-request-id': incoming },
      });
      expectProblem(response, problems.notFound(`User ${user.id} has no google association with this ext_id`));
      expect(response.headers.get('x-request-id')).not.toBe(incoming);
      expect(response.headers.get('x-request-id')).toMatch(/^[A-Za-z0-9._:-]{1,64}$/);
    });
  });

  describe('never 5xx', () => {
    it('answers arbitrary JSON bodies with 400 or 404, never 5xx', async () => {
      const user = await f.makeUser();
      const token = tokenFor(user.id);
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.jsonValue(),
            fc.record(
              {
                ext_id: fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), fc.jsonValue()),
                provider: fc.string(),
              },
              { requiredKeys: [] },
            ),
          ),
          async (body) => {
            const response = await del(user.id, json(JSON.stringify(body) ?? 'null', { token }));
            expect([400, 404]).toContain(response.status);
            expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
          },
        ),
        { numRuns: 150 },
      );
    });

    it('answers arbitrary query strings with 400 or 404, never 5xx', async () => {
      const user = await f.makeUser();
      const token = tokenFor(user.id);
      await fc.assert(
        fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 100 }), fc.string({ maxLength: 40 }), async (e, p) => {
          const query = `/?ext_id=${encodeURIComponent(e.toWellFormed())}&provider=${encodeURIComponent(p)}`;
          const response = await del(user.id, { token }, query);
          expect([400, 404]).toContain(response.status);
          expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        }),
        { numRuns: 100 },
      );
    });
  });
});
