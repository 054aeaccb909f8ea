import { describe, expect, it } from 'vitest';
import { BODY_ROUTE, createHelpers, pathRoute } from '../support/create-association';
import { request } from '../support/http';
import { expectProblem, problems } from '../support/problem';
import { tokenFor } from '../support/tokens';
import { useTestApp } from '../support/use-test-app';

describe('POST /api/v2/user/:id/provider/ and POST /api/v2/user/provider/', () => {
  const t = useTestApp();
  const f = t.f;
  const { create, expectNothingWritten } = createHelpers(t);

  describe('201', () => {
    it('201 with the whole resource when a user links an identity to themselves (path id)', async () => {
      const user = await f.makeUser();
      const res = await create(pathRoute(user.id), tokenFor(user.id), {
        provider: 'google',
        ext_id: 'g-1',
        profile_url: 'https://plus.example.com/u/1',
        show_in_profile: true,
      });
      expect(res.status, res.text).toBe(201);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(res.body).toEqual({
        user_id: user.id,
        provider: 'google',
        ext_id: 'g-1',
        profile_url: 'https://plus.example.com/u/1',
        metadata: null,
        show_in_profile: true,
      });
      expect(await f.countAssociations(user.id)).toBe(1);
    });

    it('201 on POST /api/v2/user/provider/ with user_id in the body', async () => {
      const user = await f.makeUser();
      const res = await create(BODY_ROUTE, tokenFor(user.id), { user_id: user.id, provider: 'github', ext_id: 'gh' });
      expect(res.status, res.text).toBe(201);
      expect(res.body).toEqual({
        user_id: user.id,
        provider: 'github',
        ext_id: 'gh',
        profile_url: null,
        metadata: null,
        show_in_profile: false,
      });
    });

    it('201 with the path route and a body user_id equal to the path id (the official client sends it)', async () => {
      const user = await f.makeUser();
      const res = await create(pathRoute(user.id), tokenFor(user.id), {
        user_id: user.id,
        provider: 'google',
        ext_id: 'x',
      });
      expect(res.status, res.text).toBe(201);
      expect(res.body.user_id).toBe(user.id);
    });

    it.each([
      ['the path route without its trailing slash', (id: number) => `/api/v2/user/${id}/provider`],
      ['the body route without its trailing slash', () => '/api/v2/user/provider'],
    ])('201 on %s', async (_name, path) => {
      const user = await f.makeUser();
      const res = await create(path(user.id), tokenFor(user.id), { user_id: user.id, provider: 'google', ext_id: 'a' });
      expect(res.status, res.text).toBe(201);
      expect(res.body).toMatchObject({ user_id: user.id, provider: 'google', ext_id: 'a' });
    });

    it('201 normalizing a numeric ext_id to its decimal string "123"', async () => {
      const user = await f.makeUser();
      const res = await create(pathRoute(user.id), tokenFor(user.id), { provider: 'google', ext_id: 123 });
      expect(res.status, res.text).toBe(201);
      expect(res.body.ext_id).toBe('123');
      const list = await request(t.baseUrl, 'GET', pathRoute(user.id), { token: tokenFor(user.id) });
      expect(list.body).toEqual([expect.objectContaining({ ext_id: '123' })]);
    });

    it('201 accepting ext_id 0 and the largest safe integer as numbers', async () => {
      const user = await f.makeUser();
      const zero = await create(pathRoute(user.id), tokenFor(user.id), { provider: 'google', ext_id: 0 });
      expect(zero.status, zero.text).toBe(201);
      expect(zero.body.ext_id).toBe('0');
      const max = await create(pathRoute(user.id), tokenFor(user.id), {
        provider: 'google',
        ext_id: Number.MAX_SAFE_INTEGER,
      });
      expect(max.status, max.text).toBe(201);
      expect(max.body.ext_id).toBe(String(Number.MAX_SAFE_INTEGER));
    });

    it('201 with an ext_id of exactly 255 characters, kept as given (non-ASCII included)', async () => {
      const user = await f.makeUser();
      const extId = `é${'x'.repeat(254)}`;
      const res = await create(pathRoute(user.id), tokenFor(user.id), { provider: 'keycloak', ext_id: extId });
      expect(res.status, res.text).toBe(201);
      expect(res.body.ext_id).toBe(extId);
    });

    it('201 for the external provider with a JSON object as metadata, returned as given', async () => {
      const user = await f.makeUser();
      const metadata = { plan: 'pro', seats: 3, tags: ['a', 'b'], nested: { on: true, none: null } };
      const res = await create(pathRoute(user.id), tokenFor(user.id), { provider: 'external', ext_id: 'e1', metadata });
      expect(res.status, res.text).toBe(201);
      expect(res.body).toEqual({
        user_id: user.id,
        provider: 'external',
        ext_id: 'e1',
        profile_url: null,
        metadata,
        show_in_profile: false,
      });
      const list = await request(t.baseUrl, 'GET', pathRoute(user.id), { token: tokenFor(user.id) });
      expect(list.body).toEqual([res.body]);
    });

    it('201 for the external provider with metadata of exactly 16 KiB serialized', async () => {
      const user = await f.makeUser();
      const metadata = { blob: 'x'.repeat(16 * 1024 - '{"blob":""}'.length) };
      expect(Buffer.byteLength(JSON.stringify(metadata))).toBe(16 * 1024);
      const res = await create(pathRoute(user.id), tokenFor(user.id), { provider: 'external', ext_id: 'e', metadata });
      expect(res.status, res.text).toBe(201);
      expect(res.body.metadata).toEqual(metadata);
    });

    it('201 for the external provider with show_in_profile false, profile_url null and metadata null', async () => {
      const user = await f.makeUser();
      const res = await create(pathRoute(user.id), tokenFor(user.id), {
        provider: 'external',
        ext_id: 'e',
        show_in_profile: false,
        profile_url: null,
        metadata: null,
      });
      expect(res.status, res.text).toBe(201);
      expect(res.body).toMatchObject({
        provider: 'external',
        profile_url: null,
        metadata: null,
        show_in_profile: false,
      });
    });

    it('201 with a profile_url of exactly 2048 characters', async () => {
      const user = await f.makeUser();
      const prefix = 'https://example.com/';
      const url = prefix + 'p'.repeat(2048 - prefix.length);
      const res = await create(pathRoute(user.id), tokenFor(user.id), {
        provider: 'google',
        ext_id: 'g',
        profile_url: url,
      });
      expect(res.status, res.text).toBe(201);
      expect(res.body.profile_url).toBe(url);
    });

    it('201 with an http (not https) profile_url', async () => {
      const user = await f.makeUser();
      const res = await create(pathRoute(user.id), tokenFor(user.id), {
        provider: 'facebook',
        ext_id: 'f',
        profile_url: 'http://facebook.example.com/profile?id=4',
      });
      expect(res.status, res.text).toBe(201);
      expect(res.body.profile_url).toBe('http://facebook.example.com/profile?id=4');
    });

    it.each(['azure-ad', 'apple', 'linkedin', 'a', 'a_b-c9', 'x'.repeat(32)])(
      '201 for the provider slug %s',
      async (provider) => {
        const user = await f.makeUser();
        const res = await create(pathRoute(user.id), tokenFor(user.id), { provider, ext_id: 'id' });
        expect(res.status, res.text).toBe(201);
        expect(res.body.provider).toBe(provider);
      },
    );

    it('201 when an admin links an identity to another user (metadata included)', async () => {
      const admin = await f.makeAdmin();
      const user = await f.makeUser();
      const res = await create(pathRoute(user.id), tokenFor(admin.id), {
        provider: 'external',
        ext_id: 'crm-9',
        metadata: { crm: 9 },
      });
      expect(res.status, res.text).toBe(201);
      expect(res.body).toEqual({
        user_id: user.id,
        provider: 'external',
        ext_id: 'crm-9',
        profile_url: null,
        metadata: { crm: 9 },
        show_in_profile: false,
      });
      expect(await f.countAssociations(user.id)).toBe(1);
      expect(await f.countAssociations(admin.id)).toBe(0);
    });

    it('201 when an admin uses POST /api/v2/user/provider/ for another user', async () => {
      const admin = await f.makeAdmin();
      const user = await f.makeUser();
      const res = await create(BODY_ROUTE, tokenFor(admin.id), { user_id: user.id, provider: 'google', ext_id: 'g' });
      expect(res.status, res.text).toBe(201);
      expect(res.body.user_id).toBe(user.id);
    });

    it('201 for the same ext_id under another provider', async () => {
      const user = await f.makeUser();
      const other = await f.makeUser();
      await f.link(other.id, { provider: 'google', ext_id: 'shared' });
      const res = await create(pathRoute(user.id), tokenFor(user.id), { provider: 'github', ext_id: 'shared' });
      expect(res.status, res.text).toBe(201);
      expect(await f.countAssociations()).toBe(2);
    });

    it('201 for several associations of one provider held by one user', async () => {
      const user = await f.makeUser();
      for (const extId of ['work', 'home', 'old']) {
        const res = await create(pathRoute(user.id), tokenFor(user.id), { provider: 'google', ext_id: extId });
        expect(res.status, res.text).toBe(201);
      }
      expect(await f.countAssociations(user.id)).toBe(3);
    });

    it("writes one audit event 'social_association.created' per successful create", async () => {
      const admin = await f.makeAdmin();
      const user = await f.makeUser();
      const own = await create(pathRoute(user.id), tokenFor(user.id), { provider: 'google', ext_id: 'a' });
      const byAdmin = await create(BODY_ROUTE, tokenFor(admin.id), { user_id: user.id, provider: 'github', ext_id: 7 });
      expect([own.status, byAdmin.status]).toEqual([201, 201]);
      const events = await f.auditEvents();
      expect(events).toHaveLength(2);
      expect(events[0]).toMatchObject({
        action: 'social_association.created',
        actor_user_id: user.id,
        target_user_id: user.id,
        provider: 'google',
        ext_id: 'a',
        request_id: own.headers.get('x-request-id'),
      });
      expect(events[1]).toMatchObject({
        action: 'social_association.created',
        actor_user_id: admin.id,
        target_user_id: user.id,
        provider: 'github',
        ext_id: '7',
        request_id: byAdmin.headers.get('x-request-id'),
      });
    });
  });

  describe('401', () => {
    it('401 for an anonymous caller, on both routes', async () => {
      const user = await f.makeUser();
      expectProblem(
        await create(pathRoute(user.id), undefined, { provider: 'google', ext_id: 'g' }),
        problems.notAuthenticated(),
      );
      expectProblem(
        await create(BODY_ROUTE, undefined, { user_id: user.id, provider: 'google', ext_id: 'g' }),
        problems.notAuthenticated(),
      );
      await expectNothingWritten();
    });

    it('401 for an invalid token', async () => {
      const user = await f.makeUser();
      const res = await create(pathRoute(user.id), `${tokenFor(user.id)}x`, { provider: 'google', ext_id: 'g' });
      expectProblem(res, problems.notAuthenticated());
      await expectNothingWritten();
    });
  });

  describe('403', () => {
    it.each([null, 'moderator', 'editor'] as const)(
      '403 for another non-admin user (role %s), on the path route',
      async (role) => {
        const caller = await f.makeUser({ role });
        const user = await f.makeUser();
        const res = await create(pathRoute(user.id), tokenFor(caller.id), { provider: 'google', ext_id: 'g' });
        expectProblem(res, problems.permissionDenied());
        await expectNothingWritten();
      },
    );

    it.each([null, 'moderator', 'editor'] as const)(
      '403 for another non-admin user (role %s), on POST /api/v2/user/provider/',
      async (role) => {
        const caller = await f.makeUser({ role });
        const user = await f.makeUser();
        const res = await create(BODY_ROUTE, tokenFor(caller.id), {
          user_id: user.id,
          provider: 'google',
          ext_id: 'g',
        });
        expectProblem(res, problems.permissionDenied());
        await expectNothingWritten();
      },
    );

    it('403 for a non-admin naming a user that does not exist (no enumeration)', async () => {
      const caller = await f.makeUser();
      const res = await create(pathRoute(caller.id + 1000), tokenFor(caller.id), { provider: 'google', ext_id: 'g' });
      expectProblem(res, problems.permissionDenied());
      const viaBody = await create(BODY_ROUTE, tokenFor(caller.id), {
        user_id: caller.id + 1000,
        provider: 'google',
        ext_id: 'g',
      });
      expectProblem(viaBody, problems.permissionDenied());
      await expectNothingWritten();
    });
  });

  describe('404', () => {
    it('404 not_found when an admin names a user that does not exist (path route)', async () => {
      const admin = await f.makeAdmin();
      const res = await create(pathRoute(admin.id + 1000), tokenFor(admin.id), { provider: 'google', ext_id: 'g' });
      expectProblem(res, problems.notFound(/^User \d+ does not exist$/));
      await expectNothingWritten();
    });

    it('404 not_found when an admin names a user that does not exist (body route)', async () => {
      const admin = await f.makeAdmin();
      const res = await create(BODY_ROUTE, tokenFor(admin.id), {
        user_id: admin.id + 1000,
        provider: 'google',
        ext_id: 'g',
      });
      expectProblem(res, problems.notFound(/^User \d+ does not exist$/));
      await expectNothingWritten();
    });
  });

  describe('409', () => {
    it('409 already_linked when the identity is linked to the same user already', async () => {
      const user = await f.makeUser();
      await f.link(user.id, { provider: 'google', ext_id: 'g' });
      const eventsBefore = await f.auditEvents();
      const res = await create(pathRoute(user.id), tokenFor(user.id), { provider: 'google', ext_id: 'g' });
      expectProblem(res, problems.alreadyLinked());
      expect(await f.countAssociations()).toBe(1);
      expect(await f.auditEvents()).toEqual(eventsBefore);
    });

    it('409 already_linked when the identity is linked to another user', async () => {
      const owner = await f.makeUser();
      const user = await f.makeUser();
      await f.link(owner.id, { provider: 'google', ext_id: 'g' });
      const eventsBefore = await f.auditEvents();
      const res = await create(pathRoute(user.id), tokenFor(user.id), { provider: 'google', ext_id: 'g' });
      expectProblem(res, problems.alreadyLinked());
      expect(await f.countAssociations(user.id)).toBe(0);
      expect(await f.countAssociations(owner.id)).toBe(1);
      expect(await f.auditEvents()).toEqual(eventsBefore);
    });

    it('409 for an admin too, when the identity is linked to another user', async () => {
      const admin = await f.makeAdmin();
      const owner = await f.makeUser();
      const user = await f.makeUser();
      await f.link(owner.id, { provider: 'github', ext_id: '55' });
      const res = await create(BODY_ROUTE, tokenFor(admin.id), { user_id: user.id, provider: 'github', ext_id: 55 });
      expectProblem(res, problems.alreadyLinked());
      expect(await f.countAssociations(user.id)).toBe(0);
    });

    it('409 when a numeric ext_id equals the string one already linked', async () => {
      const user = await f.makeUser();
      const first = await create(pathRoute(user.id), tokenFor(user.id), { provider: 'google', ext_id: 123 });
      expect(first.status, first.text).toBe(201);
      const second = await create(pathRoute(user.id), tokenFor(user.id), { provider: 'google', ext_id: '123' });
      expectProblem(second, problems.alreadyLinked());
      expect(await f.countAssociations()).toBe(1);
      expect(await f.auditEvents()).toHaveLength(1);
    });
  });

  describe('concurrency', () => {
    it('20 parallel creates of one identity: exactly one 201, nineteen 409, one row, never 500', async () => {
      const users = await Promise.all(Array.from({ length: 4 }, () => f.makeUser()));
      const responses = await Promise.all(
        Array.from({ length: 20 }, (_, i) => {
          const user = users[i % users.length];
          return create(pathRoute(user.id), tokenFor(user.id), { provider: 'google', ext_id: 'contested' });
        }),
      );
      const statuses = responses.map((r) => r.status).sort();
      expect(statuses, responses.map((r) => r.text).join('\n')).toEqual([201, ...Array<number>(19).fill(409)]);
      for (const res of responses.filter((r) => r.status === 409)) expectProblem(res, problems.alreadyLinked());
      expect(await f.countAssociations()).toBe(1);
      const events = await f.auditEvents();
      expect(events).toHaveLength(1);
      const winner = responses.find((r) => r.status === 201)!;
      expect(events[0]).toMatchObject({ target_user_id: winner.body.user_id, ext_id: 'contested' });
    });

    it('20 parallel creates of one identity by one user: exactly one 201', async () => {
      const user = await f.makeUser();
      const responses = await Promise.all(
        Array.from({ length: 20 }, () =>
          create(BODY_ROUTE, tokenFor(user.id), { user_id: user.id, provider: 'github', ext_id: 99 }),
        ),
      );
      const statuses = responses.map((r) => r.status).sort();
      expect(statuses, responses.map((r) => r.text).join('\n')).toEqual([201, ...Array<number>(19).fill(409)]);
      expect(await f.countAssociations(user.id)).toBe(1);
      expect(await f.auditEvents()).toHaveLength(1);
    });
  });
});
