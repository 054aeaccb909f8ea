import { describe, expect, it } from 'vitest';
import { request, TestResponse } from '../support/http';
import { expectProblem, problems } from '../support/problem';
import { tokenFor } from '../support/tokens';
import { useTestApp } from '../support/use-test-app';

describe('resolve an identity, provision users, read oneself', () => {
  const t = useTestApp();
  const f = t.f;

  const get = (path: string, token?: string): Promise<TestResponse> => request(t.baseUrl, 'GET', path, { token });
  const resolvePath = (provider: string, extId: string, slash = '/'): string =>
    `/api/v2/user/provider${slash}?provider=${encodeURIComponent(provider)}&ext_id=${encodeURIComponent(extId)}`;

  describe('GET /api/v2/user/provider/?provider={p}&ext_id={e}', () => {
    it('200 with [association] (metadata included) for an admin', async () => {
      const admin = await f.makeAdmin();
      const user = await f.makeUser();
      await f.link(user.id, { provider: 'external', ext_id: 'crm 42/ü', metadata: { plan: 'pro' } });
      await f.link(user.id, { provider: 'google', ext_id: 'crm 42/ü' });
      for (const slash of ['/', '']) {
        const res = await get(resolvePath('external', 'crm 42/ü', slash), tokenFor(admin.id));
        expect(res.status, res.text).toBe(200);
        expect(res.body).toEqual([
          {
            user_id: user.id,
            provider: 'external',
            ext_id: 'crm 42/ü',
            profile_url: null,
            metadata: { plan: 'pro' },
            show_in_profile: false,
          },
        ]);
      }
    });

    it('200 with [association] of a hidden (show_in_profile false) identity of another user', async () => {
      const admin = await f.makeAdmin();
      const user = await f.makeUser();
      await f.link(user.id, { provider: 'google', ext_id: '1234567890', profile_url: 'https://g.example.com/1' });
      const res = await get(resolvePath('google', '1234567890'), tokenFor(admin.id));
      expect(res.status, res.text).toBe(200);
      expect(res.body).toEqual([
        {
          user_id: user.id,
          provider: 'google',
          ext_id: '1234567890',
          profile_url: 'https://g.example.com/1',
          metadata: null,
          show_in_profile: false,
        },
      ]);
    });

    it('200 with [] for an admin when the identity is not linked', async () => {
      const admin = await f.makeAdmin();
      const user = await f.makeUser();
      await f.link(user.id, { provider: 'google', ext_id: 'known' });
      for (const [provider, extId] of [
        ['google', 'unknown'],
        ['github', 'known'],
        ['google', 'KNOWN'],
      ] as const) {
        const res = await get(resolvePath(provider, extId), tokenFor(admin.id));
        expect(res.status, res.text).toBe(200);
        expect(res.body).toEqual([]);
      }
    });

    it.each([null, 'moderator', 'editor'] as const)('403 for a non-admin caller (role %s)', async (role) => {
      const caller = await f.makeUser({ role });
      await f.link(caller.id, { provider: 'google', ext_id: 'own' });
      expectProblem(await get(resolvePath('google', 'own'), tokenFor(caller.id)), problems.permissionDenied());
      expectProblem(await get(resolvePath('google', 'unknown'), tokenFor(caller.id)), problems.permissionDenied());
    });

    it('401 for an anonymous caller', async () => {
      const user = await f.makeUser();
      await f.link(user.id, { provider: 'google', ext_id: 'g' });
      expectProblem(await get(resolvePath('google', 'g')), problems.notAuthenticated());
      expectProblem(await get(resolvePath('google', 'g', '')), problems.notAuthenticated());
    });

    it('401 for an invalid token', async () => {
      const admin = await f.makeAdmin();
      expectProblem(await get(resolvePath('google', 'g'), `${tokenFor(admin.id)}x`), problems.notAuthenticated());
    });

    it('400 field ext_id for provider without ext_id', async () => {
      const admin = await f.makeAdmin();
      expectProblem(
        await get('/api/v2/user/provider/?provider=google', tokenFor(admin.id)),
        problems.invalidField('ext_id'),
      );
    });

    it('400 field provider for ext_id without provider', async () => {
      const admin = await f.makeAdmin();
      expectProblem(
        await get('/api/v2/user/provider/?ext_id=123', tokenFor(admin.id)),
        problems.invalidField('provider'),
      );
    });

    it('400 when user_id is given too', async () => {
      const admin = await f.makeAdmin();
      const user = await f.makeUser();
      await f.link(user.id, { provider: 'google', ext_id: 'g' });
      const res = await get(`/api/v2/user/provider/?user_id=${user.id}&provider=google&ext_id=g`, tokenFor(admin.id));
      expectProblem(res, problems.invalidField('user_id'));
    });

    it.each([
      ['an invalid provider slug', '?provider=Google&ext_id=1', 'provider'],
      ['an empty ext_id', '?provider=google&ext_id=', 'ext_id'],
      ['an ext_id of 256 characters', `?provider=google&ext_id=${'x'.repeat(256)}`, 'ext_id'],
      ['an ext_id with a control character', '?provider=google&ext_id=a%0Ab', 'ext_id'],
    ])('400 for %s', async (_name, query, field) => {
      const admin = await f.makeAdmin();
      expectProblem(await get(`/api/v2/user/provider/${query}`, tokenFor(admin.id)), problems.invalidField(field));
    });
  });

  describe('POST /api/v2/sso/signup/', () => {
    const signup = (body: unknown, token?: string, path = '/api/v2/sso/signup/'): Promise<TestResponse> =>
      request(t.baseUrl, 'POST', path, { token, body });

    it('201 with { id, username, ext_id, email, role, has_usable_password } for an admin', async () => {
      const admin = await f.makeAdmin();
      const res = await signup(
        {
          username: 'jane.doe+1@x',
          ext_id: 'sso-7',
          email: 'jane@example.com',
          role: 'editor',
          has_usable_password: false,
        },
        tokenFor(admin.id),
      );
      expect(res.status, res.text).toBe(201);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(res.body).toEqual({
        id: expect.any(Number),
        username: 'jane.doe+1@x',
        ext_id: 'sso-7',
        email: 'jane@example.com',
        role: 'editor',
        has_usable_password: false,
      });
      expect(res.body.id).toBeGreaterThan(admin.id);
      // The new user exists and can authenticate.
      const me = await get('/api/v2/user/me/', tokenFor(res.body.id));
      expect(me.status, me.text).toBe(200);
      expect(me.body).toEqual(res.body);
    });

    it('201 with defaults: ext_id, email and role null, has_usable_password true (without trailing slash)', async () => {
      const admin = await f.makeAdmin();
      const res = await signup({ username: 'minimal' }, tokenFor(admin.id), '/api/v2/sso/signup');
      expect(res.status, res.text).toBe(201);
      expect(res.body).toEqual({
        id: expect.any(Number),
        username: 'minimal',
        ext_id: null,
        email: null,
        role: null,
        has_usable_password: true,
      });
    });

    it('201 normalizing a numeric ext_id to its decimal string (the official client documents a number)', async () => {
      const admin = await f.makeAdmin();
      const res = await signup({ username: 'numeric', ext_id: 123 }, tokenFor(admin.id));
      expect(res.status, res.text).toBe(201);
      expect(res.body.ext_id).toBe('123');
    });

    it.each(['admin', 'moderator', 'editor'])('201 with role %s', async (role) => {
      const admin = await f.makeAdmin();
      const res = await signup({ username: `u_${role}`, role }, tokenFor(admin.id));
      expect(res.status, res.text).toBe(201);
      expect(res.body.role).toBe(role);
    });

    it('409 username_taken for a duplicate username', async () => {
      const admin = await f.makeAdmin();
      await f.makeUser({ username: 'taken' });
      const res = await signup({ username: 'taken', email: 'other@example.com' }, tokenFor(admin.id));
      expectProblem(res, problems.usernameTaken());
      const rows: unknown[] = await t.dataSource.query("SELECT id FROM users WHERE username = 'taken'");
      expect(rows).toHaveLength(1);
    });

    it.each([null, 'moderator', 'editor'] as const)('403 for a non-admin caller (role %s)', async (role) => {
      const caller = await f.makeUser({ role });
      expectProblem(await signup({ username: 'newbie' }, tokenFor(caller.id)), problems.permissionDenied());
      const rows: unknown[] = await t.dataSource.query("SELECT id FROM users WHERE username = 'newbie'");
      expect(rows).toEqual([]);
    });

    it('401 for an anonymous caller', async () => {
      expectProblem(await signup({ username: 'newbie' }), problems.notAuthenticated());
      const rows: unknown[] = await t.dataSource.query('SELECT id FROM users');
      expect(rows).toEqual([]);
    });

    it.each([
      ['username missing', {}, 'username'],
      ['username empty', { username: '' }, 'username'],
      ['username with a space', { username: 'jane doe' }, 'username'],
      ['username with a slash', { username: 'jane/doe' }, 'username'],
      ['username of 151 characters', { username: 'u'.repeat(151) }, 'username'],
      ['username a number', { username: 7 }, 'username'],
      ['email invalid', { username: 'u1', email: 'not-an-email' }, 'email'],
      ['email a number', { username: 'u1', email: 5 }, 'email'],
      // validator.js's isEmail throws on lone surrogates: this was a 500 (found by the fuzz test).
      ['email with a lone surrogate', { username: 'u1', email: '\ud800' }, 'email'],
      ['email with a lone surrogate in its domain', { username: 'u1', email: 'a@b\udc00.com' }, 'email'],
      ['role unknown', { username: 'u1', role: 'superuser' }, 'role'],
      ['role in another case', { username: 'u1', role: 'Admin' }, 'role'],
      ['has_usable_password a string', { username: 'u1', has_usable_password: 'false' }, 'has_usable_password'],
      ['ext_id of 256 characters', { username: 'u1', ext_id: 'x'.repeat(256) }, 'ext_id'],
      ['an unknown field', { username: 'u1', password: 'secret' }, 'password'],
    ])('400 field %s', async (_name, body, field) => {
      const admin = await f.makeAdmin();
      expectProblem(await signup(body, tokenFor(admin.id)), problems.invalidField(field));
      const rows: unknown[] = await t.dataSource.query('SELECT id FROM users');
      expect(rows).toHaveLength(1);
    });

    it('400 naming an unknown field with code unknown_field', async () => {
      const admin = await f.makeAdmin();
      expectProblem(
        await signup({ username: 'u1', is_superuser: true }, tokenFor(admin.id)),
        problems.invalidField('is_superuser', 'unknown_field'),
      );
    });

    it('400 for a body that is not a JSON object', async () => {
      const admin = await f.makeAdmin();
      expectProblem(await signup(['u1'], tokenFor(admin.id)), problems.invalid());
    });
  });

  describe('GET /api/v2/user/me/', () => {
    it('200 with the caller’s own record (with and without trailing slash)', async () => {
      const user = await f.makeUser({
        username: 'me_myself',
        ext_id: 'ext-1',
        email: 'me@example.com',
        role: 'moderator',
        has_usable_password: false,
      });
      await f.makeUser();
      for (const path of ['/api/v2/user/me/', '/api/v2/user/me']) {
        const res = await get(path, tokenFor(user.id));
        expect(res.status, res.text).toBe(200);
        expect(res.body).toEqual({
          id: user.id,
          username: 'me_myself',
          ext_id: 'ext-1',
          email: 'me@example.com',
          role: 'moderator',
          has_usable_password: false,
        });
      }
    });

    it('200 with an admin’s own record, not anyone else’s', async () => {
      await f.makeUser();
      const admin = await f.makeAdmin({ username: 'the_admin' });
      const res = await get('/api/v2/user/me/', tokenFor(admin.id));
      expect(res.status, res.text).toBe(200);
      expect(res.body).toMatchObject({ id: admin.id, username: 'the_admin', role: 'admin' });
    });

    it('401 for an anonymous caller', async () => {
      expectProblem(await get('/api/v2/user/me/'), problems.notAuthenticated());
      expectProblem(await get('/api/v2/user/me'), problems.notAuthenticated());
    });

    it('401 for an invalid token, or the token of a deactivated user', async () => {
      const user = await f.makeUser();
      expectProblem(await get('/api/v2/user/me/', `${tokenFor(user.id)}x`), problems.notAuthenticated());
      await f.deactivate(user.id);
      expectProblem(await get('/api/v2/user/me/', tokenFor(user.id)), problems.notAuthenticated());
    });
  });
});
