import { describe, expect, it } from 'vitest';
import { request, TestResponse } from '../support/http';
import { expectProblem, problems } from '../support/problem';
import { accessClaims, signToken, tokenFor } from '../support/tokens';
import { useTestApp } from '../support/use-test-app';

describe('GET /api/v2/user/:id/provider/ and GET /api/v2/user/provider/?user_id=', () => {
  const t = useTestApp();
  const f = t.f;

  const get = (path: string, token?: string, headers?: Record<string, string>): Promise<TestResponse> =>
    request(t.baseUrl, 'GET', path, { token, headers });

  /** Both list routes for one user, with and without the trailing slash. */
  const listPaths = (id: number | string): string[] => [
    `/api/v2/user/${id}/provider/`,
    `/api/v2/user/${id}/provider`,
    `/api/v2/user/provider/?user_id=${id}`,
    `/api/v2/user/provider?user_id=${id}`,
  ];

  /**
   * A user with three associations, in creation order: a public Google one, a
   * private GitHub one and a private external one with metadata.
   */
  async function arrangeUserWithAssociations() {
    const user = await f.makeUser();
    await f.link(user.id, {
      provider: 'google',
      ext_id: 'g-public',
      profile_url: 'https://g.example.com/u',
      show_in_profile: true,
    });
    await f.link(user.id, { provider: 'github', ext_id: 'gh-private' });
    await f.link(user.id, { provider: 'external', ext_id: 'crm-1', metadata: { tier: 'gold' } });
    const full = [
      {
        user_id: user.id,
        provider: 'google',
        ext_id: 'g-public',
        profile_url: 'https://g.example.com/u',
        metadata: null,
        show_in_profile: true,
      },
      {
        user_id: user.id,
        provider: 'github',
        ext_id: 'gh-private',
        profile_url: null,
        metadata: null,
        show_in_profile: false,
      },
      {
        user_id: user.id,
        provider: 'external',
        ext_id: 'crm-1',
        profile_url: null,
        metadata: { tier: 'gold' },
        show_in_profile: false,
      },
    ];
    const publicView = [
      {
        user_id: user.id,
        provider: 'google',
        ext_id: 'g-public',
        profile_url: 'https://g.example.com/u',
        show_in_profile: true,
      },
    ];
    return { user, full, publicView };
  }

  function expectArray(res: TestResponse, expected: unknown[]): void {
    expect(res.status, res.text).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(Array.isArray(res.body)).toBe(true);
    expect(res.body).toEqual(expected);
  }

  describe('200', () => {
    it('200 with every association, metadata included, for the user themselves (both routes)', async () => {
      const { user, full } = await arrangeUserWithAssociations();
      for (const path of listPaths(user.id)) expectArray(await get(path, tokenFor(user.id)), full);
    });

    it('200 with every association, metadata included, for an admin (both routes)', async () => {
      const { user, full } = await arrangeUserWithAssociations();
      const admin = await f.makeAdmin();
      for (const path of listPaths(user.id)) expectArray(await get(path, tokenFor(admin.id)), full);
    });

    it('200 with only show_in_profile associations, without the metadata key, for an anonymous caller', async () => {
      const { user, publicView } = await arrangeUserWithAssociations();
      for (const path of listPaths(user.id)) {
        const res = await get(path);
        expectArray(res, publicView);
        expect(res.body[0]).not.toHaveProperty('metadata');
      }
    });

    it.each([null, 'moderator', 'editor'] as const)(
      '200 with only show_in_profile associations, without metadata, for another user (role %s)',
      async (role) => {
        const { user, publicView } = await arrangeUserWithAssociations();
        const other = await f.makeUser({ role });
        for (const path of listPaths(user.id)) {
          const res = await get(path, tokenFor(other.id));
          expectArray(res, publicView);
          expect(res.body[0]).not.toHaveProperty('metadata');
        }
      },
    );

    it('200 hides metadata of a shown external-provider association from others', async () => {
      // show_in_profile cannot be true for `external`: the only public items are non-external,
      // so the check is that no item anywhere carries the key.
      const user = await f.makeUser();
      await f.link(user.id, { provider: 'external', ext_id: 'e', metadata: { secret: 'x' } });
      await f.link(user.id, { provider: 'google', ext_id: 'g', show_in_profile: true });
      const res = await get(`/api/v2/user/${user.id}/provider/`);
      expect(res.status, res.text).toBe(200);
      expect(res.body).toHaveLength(1);
      expect(res.text).not.toContain('metadata');
      expect(res.text).not.toContain('secret');
    });

    it('200 with an empty JSON array for a user without associations (self, admin, anonymous)', async () => {
      const user = await f.makeUser();
      const admin = await f.makeAdmin();
      for (const token of [tokenFor(user.id), tokenFor(admin.id), undefined]) {
        for (const path of listPaths(user.id)) expectArray(await get(path, token), []);
      }
    });

    it('200 with an empty JSON array for others when nothing is shown in the profile', async () => {
      const user = await f.makeUser();
      await f.link(user.id, { provider: 'google', ext_id: 'hidden' });
      expectArray(await get(`/api/v2/user/${user.id}/provider/`), []);
      expectArray(await get(`/api/v2/user/${user.id}/provider/`, tokenFor(user.id)), [
        expect.objectContaining({ ext_id: 'hidden' }),
      ]);
    });

    it('200 oldest first, whatever the provider or ext_id order, stable across calls', async () => {
      const user = await f.makeUser();
      const created = [
        { provider: 'twitter', ext_id: 'z' },
        { provider: 'apple', ext_id: 'm' },
        { provider: 'google', ext_id: 'a' },
        { provider: 'apple', ext_id: 'b' },
        { provider: 'twitter', ext_id: 'c' },
      ];
      for (const input of created) await f.link(user.id, { ...input, show_in_profile: true });
      const expected = created.map(({ provider, ext_id }) => [provider, ext_id]);
      for (const token of [tokenFor(user.id), undefined]) {
        for (let round = 0; round < 3; round++) {
          const res = await get(`/api/v2/user/${user.id}/provider/`, token);
          expect(res.status, res.text).toBe(200);
          expect(res.body.map((a: { provider: string; ext_id: string }) => [a.provider, a.ext_id])).toEqual(expected);
        }
      }
    });

    it('200 listing only the named user, not the associations of others', async () => {
      const { user, full } = await arrangeUserWithAssociations();
      const other = await f.makeUser();
      await f.link(other.id, { provider: 'google', ext_id: 'other', show_in_profile: true });
      expectArray(await get(`/api/v2/user/${user.id}/provider/`, tokenFor(user.id)), full);
    });

    it('200 with the caller’s own associations on GET /api/v2/user/provider/ without user_id', async () => {
      const { user, full } = await arrangeUserWithAssociations();
      const other = await f.makeUser();
      await f.link(other.id, { provider: 'google', ext_id: 'other', show_in_profile: true });
      expectArray(await get('/api/v2/user/provider/', tokenFor(user.id)), full);
      expectArray(await get('/api/v2/user/provider', tokenFor(user.id)), full);
    });

    it('200 with an empty array on GET /api/v2/user/provider/ for a caller without associations', async () => {
      const user = await f.makeUser();
      await f.link((await f.makeUser()).id, { provider: 'google', ext_id: 'someone-else' });
      expectArray(await get('/api/v2/user/provider/', tokenFor(user.id)), []);
    });
  });

  describe('400', () => {
    it.each(['abc', '0', '-1', '1.5', '99999999999', '1e3'])('400 for the path id %s', async (id) => {
      const res = await get(`/api/v2/user/${id}/provider/`);
      expectProblem(res, problems.invalidField('id', 'invalid'));
      const authenticated = await get(`/api/v2/user/${id}/provider/`, tokenFor((await f.makeUser()).id));
      expectProblem(authenticated, problems.invalidField('id', 'invalid'));
    });

    it.each(['abc', '0', '-1', '1.5', '99999999999', '', '1e3'])('400 field user_id for ?user_id=%s', async (id) => {
      expectProblem(await get(`/api/v2/user/provider/?user_id=${id}`), problems.invalidField('user_id'));
      const user = await f.makeUser();
      expectProblem(
        await get(`/api/v2/user/provider/?user_id=${id}`, tokenFor(user.id)),
        problems.invalidField('user_id'),
      );
    });

    it('400 field user_id for a repeated user_id parameter', async () => {
      const user = await f.makeUser();
      const res = await get(`/api/v2/user/provider/?user_id=${user.id}&user_id=${user.id}`, tokenFor(user.id));
      expectProblem(res, problems.invalidField('user_id'));
    });
  });

  describe('401', () => {
    it('401 on GET /api/v2/user/provider/ without user_id for an anonymous caller', async () => {
      expectProblem(await get('/api/v2/user/provider/'), problems.notAuthenticated());
      expectProblem(await get('/api/v2/user/provider'), problems.notAuthenticated());
    });

    it('401 for an invalid token on this optional-auth route (not silently anonymous)', async () => {
      const { user } = await arrangeUserWithAssociations();
      const invalid = [
        `${tokenFor(user.id)}x`,
        signToken(accessClaims(user.id), { alg: 'none', typ: 'JWT' }),
        signToken(accessClaims(user.id, { exp: Math.floor(Date.now() / 1000) - 3600 })),
        signToken(accessClaims(user.id), undefined, 'another-secret-that-is-at-least-32-characters'),
        signToken(accessClaims(user.id, { token_type: 'refresh' })),
        'not-a-jwt',
      ];
      for (const token of invalid) {
        for (const path of listPaths(user.id)) expectProblem(await get(path, token), problems.notAuthenticated());
      }
    });

    it('401 for a token of a user that no longer exists or is deactivated', async () => {
      const { user } = await arrangeUserWithAssociations();
      const gone = await f.makeUser();
      const inactive = await f.makeUser();
      await f.deleteUser(gone.id);
      await f.deactivate(inactive.id);
      for (const token of [tokenFor(gone.id), tokenFor(inactive.id)]) {
        expectProblem(await get(`/api/v2/user/${user.id}/provider/`, token), problems.notAuthenticated());
        expectProblem(await get(`/api/v2/user/provider/?user_id=${user.id}`, token), problems.notAuthenticated());
      }
    });

    it('401 for an Authorization header that is not a bearer token', async () => {
      const { user } = await arrangeUserWithAssociations();
      const res = await get(`/api/v2/user/${user.id}/provider/`, undefined, { authorization: 'Basic dTpw' });
      expectProblem(res, problems.notAuthenticated());
    });
  });

  describe('404', () => {
    it('404 not_found for a user that does not exist (anonymous, another user, admin)', async () => {
      const caller = await f.makeUser();
      const admin = await f.makeAdmin();
      const missing = admin.id + 1000;
      for (const token of [undefined, tokenFor(caller.id), tokenFor(admin.id)]) {
        for (const path of listPaths(missing))
          expectProblem(await get(path, token), problems.notFound(/^User \d+ does not exist$/));
      }
    });

    it('404 for a user that was deleted, with their associations', async () => {
      const { user } = await arrangeUserWithAssociations();
      await f.deleteUser(user.id);
      expectProblem(await get(`/api/v2/user/${user.id}/provider/`), problems.notFound(/^User \d+ does not exist$/));
      expect(await f.countAssociations(user.id)).toBe(0);
    });
  });
});
