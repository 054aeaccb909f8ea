import { describe, expect, it } from 'vitest';
import { request, TestResponse } from '../support/http';
import { expectProblem, problems } from '../support/problem';
import { tokenFor } from '../support/tokens';
import { useTestApp } from '../support/use-test-app';

describe('resolve an identity', () => {
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
});
