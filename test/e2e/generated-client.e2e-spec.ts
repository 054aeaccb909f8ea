import { describe, expect, it } from 'vitest';
import {
  createSocialAssociation,
  createUserSocialAssociation,
  deleteSocialAssociation,
  getCurrentUser,
  listSocialAssociations,
  listUserSocialAssociations,
  signupUser,
} from '../generated/api-client';
import { Client, createClient, createConfig } from '../generated/api-client/client';
import { assertResponseMatchesContract } from '../support/openapi-contract';
import { tokenFor } from '../support/tokens';
import { useTestApp } from '../support/use-test-app';

/**
 * The TypeScript client generated from openapi.json (test/generated/api-client,
 * @hey-api/openapi-ts) drives the API: no hand-written request code. Its
 * responses go through the same contract validation as request()'s.
 */
describe('the generated TypeScript client', () => {
  const t = useTestApp();
  const f = t.f;

  /** A client for the test app, authenticated as `token`'s user (anonymous without one). */
  function api(token?: string): Client {
    const client = createClient(createConfig({ baseUrl: t.baseUrl, auth: token }));
    client.interceptors.response.use(async (response, request) => {
      const url = new URL(request.url);
      assertResponseMatchesContract(request.method, `${url.pathname}${url.search}`, {
        status: response.status,
        headers: response.headers,
        text: await response.clone().text(),
      });
      return response;
    });
    return client;
  }

  it('signs a user up, then create → list → delete → list, through the generated functions', async () => {
    const admin = api(tokenFor((await f.makeAdmin()).id));

    const signup = await signupUser({ client: admin, body: { username: 'jane.doe', email: 'jane@example.com' } });
    expect(signup.response.status).toBe(201);
    const jane = signup.data!;
    expect(jane).toEqual({
      id: expect.any(Number),
      username: 'jane.doe',
      ext_id: null,
      email: 'jane@example.com',
      role: null,
      has_usable_password: true,
    });
    const asJane = api(tokenFor(jane.id));
    expect((await getCurrentUser({ client: asJane })).data).toEqual(jane);

    const google = await createUserSocialAssociation({
      client: asJane,
      path: { id: jane.id },
      body: { provider: 'google', ext_id: '108234567890', show_in_profile: true },
    });
    expect(google.response.status).toBe(201);
    expect(google.data).toEqual({
      user_id: jane.id,
      provider: 'google',
      ext_id: '108234567890',
      profile_url: null,
      metadata: null,
      show_in_profile: true,
    });
    // The official client's shape: user id in the body, numeric ext_id.
    const keycloak = await createSocialAssociation({
      client: admin,
      body: { user_id: jane.id, provider: 'keycloak', ext_id: 42 },
    });
    expect(keycloak.response.status).toBe(201);
    expect(keycloak.data).toMatchObject({
      user_id: jane.id,
      provider: 'keycloak',
      ext_id: '42',
      show_in_profile: false,
    });

    const listed = await listUserSocialAssociations({ client: asJane, path: { id: jane.id } });
    expect(listed.data?.map(({ provider, ext_id }) => [provider, ext_id])).toEqual([
      ['google', '108234567890'],
      ['keycloak', '42'],
    ]);
    const anonymous = await listSocialAssociations({ client: api(), query: { user_id: jane.id } });
    expect(anonymous.data).toEqual([
      { user_id: jane.id, provider: 'google', ext_id: '108234567890', profile_url: null, show_in_profile: true },
    ]);
    const resolved = await listSocialAssociations({ client: admin, query: { provider: 'keycloak', ext_id: '42' } });
    expect(resolved.data?.map(({ user_id }) => user_id)).toEqual([jane.id]);

    const deletedByBody = await deleteSocialAssociation({
      client: asJane,
      path: { id: jane.id },
      body: { provider: 'google', ext_id: '108234567890' },
    });
    expect(deletedByBody.response.status).toBe(204);
    expect(deletedByBody.error).toBeUndefined();
    const deletedByQuery = await deleteSocialAssociation({
      client: asJane,
      path: { id: jane.id },
      query: { provider: 'keycloak', ext_id: '42' },
    });
    expect(deletedByQuery.response.status).toBe(204);

    expect((await listUserSocialAssociations({ client: asJane, path: { id: jane.id } })).data).toEqual([]);
    expect((await listSocialAssociations({ client: asJane })).data).toEqual([]);
  });

  it('400: the problem body names the field', async () => {
    const user = await f.makeUser();
    const result = await createUserSocialAssociation({
      client: api(tokenFor(user.id)),
      path: { id: user.id },
      body: { provider: 'Not A Slug', ext_id: 'x' },
    });
    expect(result.response.status).toBe(400);
    expect(result.data).toBeUndefined();
    expect(result.error).toMatchObject({
      status: 400,
      title: 'Bad Request',
      instance: `/api/v2/user/${user.id}/provider/`,
    });
    expect(result.error?.errors).toContainEqual({
      field: 'provider',
      messages: [{ code: 'invalid', message: expect.stringContaining('provider') }],
    });
  });

  it("403: deleting another user's association", async () => {
    const owner = await f.makeUser();
    const other = await f.makeUser();
    await f.link(owner.id, { provider: 'google', ext_id: 'g-1' });
    const result = await deleteSocialAssociation({
      client: api(tokenFor(other.id)),
      path: { id: owner.id },
      body: { provider: 'google', ext_id: 'g-1' },
    });
    expect(result.response.status).toBe(403);
    expect(result.error?.errors).toEqual([{ code: 'permission_denied', message: expect.any(String) }]);
    expect(await f.countAssociations(owner.id)).toBe(1);
  });

  it('404: deleting an association the user does not have', async () => {
    const user = await f.makeUser();
    const result = await deleteSocialAssociation({
      client: api(tokenFor(user.id)),
      path: { id: user.id },
      body: { provider: 'google', ext_id: 'nope' },
    });
    expect(result.response.status).toBe(404);
    expect(result.error).toMatchObject({ status: 404, title: 'Not Found' });
    expect(result.error?.errors).toEqual([
      { code: 'not_found', message: expect.stringMatching(/has no \S+ association/) },
    ]);
  });
});
