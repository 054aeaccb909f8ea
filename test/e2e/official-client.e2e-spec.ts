import { formatHttpError, http, SSOService, UserService } from '@selfcommunity/api-services';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { tokenFor } from '../support/tokens';
import { useTestApp } from '../support/use-test-app';

/**
 * The official JavaScript client, unchanged, against this service. It is an axios
 * wrapper: `http.setBasePortal(url)` sets the base URL and
 * `http.setAuthorizeToken(token)` the `Authorization: Bearer <token>` header of
 * every request (null removes it). Its services send their own request shapes:
 * user_id in the body, numeric ext_ids, trailing slashes.
 */
describe('@selfcommunity/api-services against this service', () => {
  const t = useTestApp();
  const f = t.f;
  beforeAll(() => http.setBasePortal(t.baseUrl));
  beforeEach(() => http.setAuthorizeToken(null as unknown as string));

  /** The rejection of a client call (an axios error carrying the response). */
  async function rejectionOf(call: Promise<unknown>): Promise<{ response?: { status: number; data: unknown } }> {
    try {
      await call;
    } catch (error) {
      return error as { response?: { status: number; data: unknown } };
    }
    throw new Error('the client call was expected to fail but succeeded');
  }

  describe('UserService.createProviderAssociation / getProviderAssociations / deleteProviderAssociation', () => {
    it('create → list → delete → list as the user, with a numeric ext_id', async () => {
      const user = await f.makeUser();
      http.setAuthorizeToken(tokenFor(user.id));

      const created = await UserService.createProviderAssociation({
        user_id: user.id,
        provider: 'google',
        ext_id: 1234567890 as unknown as string,
        profile_url: 'https://g.example.com/u/1',
        show_in_profile: true,
      });
      expect(created).toEqual({
        user_id: user.id,
        provider: 'google',
        ext_id: '1234567890',
        profile_url: 'https://g.example.com/u/1',
        metadata: null,
        show_in_profile: true,
      });

      expect(await UserService.getProviderAssociations(user.id)).toEqual([created]);

      const deleted: unknown = await UserService.deleteProviderAssociation({
        user_id: user.id,
        provider: 'google',
        ext_id: 1234567890,
      });
      expect(deleted === '' || deleted === undefined || deleted === null).toBe(true);

      expect(await UserService.getProviderAssociations(user.id)).toEqual([]);
      expect(await f.countAssociations()).toBe(0);
      expect((await f.auditEvents()).map((e) => e.action)).toEqual([
        'social_association.created',
        'social_association.deleted',
      ]);
    });

    it('create → list → delete → list as an admin for another user, with user_id as a string', async () => {
      const admin = await f.makeAdmin();
      const user = await f.makeUser({ has_usable_password: false });
      http.setAuthorizeToken(tokenFor(admin.id));

      const created = await UserService.createProviderAssociation({
        user_id: String(user.id),
        provider: 'external',
        ext_id: '42',
        metadata: { crm: 'acme', seats: 3 },
      });
      expect(created).toEqual({
        user_id: user.id,
        provider: 'external',
        ext_id: '42',
        profile_url: null,
        metadata: { crm: 'acme', seats: 3 },
        show_in_profile: false,
      });

      expect(await UserService.getProviderAssociations(String(user.id))).toEqual([created]);

      // An admin may remove even the last sign-in method of a passwordless user.
      await UserService.deleteProviderAssociation({ user_id: user.id, provider: 'external', ext_id: 42 });
      expect(await UserService.getProviderAssociations(user.id)).toEqual([]);
      expect(await f.countAssociations(user.id)).toBe(0);
    });

    it('getProviderAssociations without a token lists only the public ones, without metadata', async () => {
      const user = await f.makeUser();
      await f.link(user.id, { provider: 'google', ext_id: 'public', show_in_profile: true });
      await f.link(user.id, { provider: 'external', ext_id: 'private', metadata: { a: 1 } });

      const list = await UserService.getProviderAssociations(user.id);
      expect(list).toEqual([
        { user_id: user.id, provider: 'google', ext_id: 'public', profile_url: null, show_in_profile: true },
      ]);
    });

    it('SSOService.SignUp provisions a user as an admin (numeric ext_id, as its documentation shows)', async () => {
      const admin = await f.makeAdmin();
      http.setAuthorizeToken(tokenFor(admin.id));
      const created = await SSOService.SignUp({ username: 'from_client', ext_id: 77 } as never);
      expect(created).toEqual({
        id: expect.any(Number),
        username: 'from_client',
        ext_id: '77',
        email: null,
        role: null,
        has_usable_password: true,
      });
    });
  });

  describe('formatHttpError on our errors', () => {
    it('400: ext_id too long gives { extIdError: { error: message } }', async () => {
      const user = await f.makeUser();
      http.setAuthorizeToken(tokenFor(user.id));
      const error = await rejectionOf(
        UserService.createProviderAssociation({ user_id: user.id, provider: 'google', ext_id: 'x'.repeat(256) }),
      );
      expect(error.response?.status).toBe(400);
      expect(formatHttpError(error)).toEqual({ extIdError: { error: expect.stringMatching(/ext_id/) } });
    });

    it('400: an invalid provider gives { providerError: { error: message } }', async () => {
      const user = await f.makeUser();
      http.setAuthorizeToken(tokenFor(user.id));
      const error = await rejectionOf(
        UserService.createProviderAssociation({ user_id: user.id, provider: 'Not A Slug', ext_id: '1' }),
      );
      expect(error.response?.status).toBe(400);
      expect(formatHttpError(error)).toEqual({ providerError: { error: expect.stringMatching(/provider/) } });
    });

    it('400: a profile_url for the external provider gives { profileUrlError: ... }', async () => {
      const user = await f.makeUser();
      http.setAuthorizeToken(tokenFor(user.id));
      const error = await rejectionOf(
        UserService.createProviderAssociation({
          user_id: user.id,
          provider: 'external',
          ext_id: '1',
          profile_url: 'https://example.com/u/1',
        }),
      );
      expect(error.response?.status).toBe(400);
      expect(formatHttpError(error)).toEqual({ profileUrlError: { error: expect.stringMatching(/profile_url/) } });
    });

    it('409: an identity linked already gives { error: message }', async () => {
      const owner = await f.makeUser();
      const user = await f.makeUser();
      await f.link(owner.id, { provider: 'github', ext_id: '99' });
      http.setAuthorizeToken(tokenFor(user.id));
      const error = await rejectionOf(
        UserService.createProviderAssociation({
          user_id: user.id,
          provider: 'github',
          ext_id: 99 as unknown as string,
        }),
      );
      expect(error.response?.status).toBe(409);
      expect(formatHttpError(error)).toEqual({ error: expect.stringMatching(/already linked/) });
    });

    it('404: deleting an association the user does not have gives { error: message }', async () => {
      const user = await f.makeUser();
      http.setAuthorizeToken(tokenFor(user.id));
      const error = await rejectionOf(
        UserService.deleteProviderAssociation({ user_id: user.id, provider: 'google', ext_id: 5 }),
      );
      expect(error.response?.status).toBe(404);
      expect(formatHttpError(error)).toEqual({ error: expect.any(String) });
    });

    it('404: listing a user that does not exist gives { error: message }', async () => {
      const admin = await f.makeAdmin();
      http.setAuthorizeToken(tokenFor(admin.id));
      const error = await rejectionOf(UserService.getProviderAssociations(admin.id + 1000));
      expect(error.response?.status).toBe(404);
      expect(formatHttpError(error)).toEqual({ error: expect.stringMatching(/does not exist/) });
    });

    it('409: a passwordless user deleting their last association gives { error: message }', async () => {
      const user = await f.makeUser({ has_usable_password: false });
      await f.link(user.id, { provider: 'google', ext_id: '1' });
      http.setAuthorizeToken(tokenFor(user.id));
      const error = await rejectionOf(
        UserService.deleteProviderAssociation({ user_id: user.id, provider: 'google', ext_id: 1 }),
      );
      expect(error.response?.status).toBe(409);
      expect(formatHttpError(error)).toEqual({ error: expect.stringMatching(/last sign-in method/) });
      expect(await f.countAssociations(user.id)).toBe(1);
    });

    it('403: acting on another user gives { error: message }', async () => {
      const caller = await f.makeUser();
      const user = await f.makeUser();
      http.setAuthorizeToken(tokenFor(caller.id));
      const error = await rejectionOf(
        UserService.createProviderAssociation({ user_id: user.id, provider: 'google', ext_id: '1' }),
      );
      expect(error.response?.status).toBe(403);
      expect(error.response?.data).toMatchObject({
        errors: [{ code: 'permission_denied', message: expect.any(String) }],
      });
      expect(formatHttpError(error)).toEqual({ error: expect.any(String) });
    });

    it('401: no token gives { error: message }', async () => {
      const user = await f.makeUser();
      const error = await rejectionOf(
        UserService.createProviderAssociation({ user_id: user.id, provider: 'google', ext_id: '1' }),
      );
      expect(error.response?.status).toBe(401);
      expect(formatHttpError(error)).toEqual({ error: expect.any(String) });
    });
  });
});
