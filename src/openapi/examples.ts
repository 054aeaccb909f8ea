import type { ExamplesObject } from '@nestjs/swagger';

/**
 * Request examples shown in Swagger UI. Each one, sent as written with a valid
 * token, gets its operation's 2xx once user EXAMPLE_USER_ID exists
 * (test/e2e/openapi-examples.e2e-spec.ts sends every one).
 */
export const EXAMPLE_USER_ID = 7;

const GOOGLE = {
  ext_id: '108234567890123456789',
  provider: 'google',
  profile_url: 'https://plus.google.com/108234567890123456789',
  show_in_profile: true,
};
const EXTERNAL = { ext_id: 'acme-42', provider: 'external', metadata: { tenant: 'acme' } };
const OFFICIAL_CLIENT = { ext_id: 42, provider: 'keycloak', user_id: EXAMPLE_USER_ID };

/** POST /api/v2/user/{id}/provider/: the user is the path's; `user_id` may come too. */
export const CREATE_EXAMPLES: ExamplesObject = {
  google: { summary: 'A Google account, shown in the profile', value: GOOGLE },
  external: { summary: 'An identity of the `external` provider, with metadata', value: EXTERNAL },
  officialClient: {
    summary: 'As @selfcommunity/api-services sends it: numeric ext_id and user_id',
    value: OFFICIAL_CLIENT,
  },
};

/** POST /api/v2/user/provider/: the user is the body's `user_id`, required. */
export const CREATE_BODY_USER_EXAMPLES: ExamplesObject = {
  google: { summary: 'A Google account, shown in the profile', value: { ...GOOGLE, user_id: EXAMPLE_USER_ID } },
  external: {
    summary: 'An identity of the `external` provider, with metadata',
    value: { ...EXTERNAL, user_id: EXAMPLE_USER_ID },
  },
  officialClient: {
    summary: 'As @selfcommunity/api-services sends it: numeric ext_id and user_id',
    value: OFFICIAL_CLIENT,
  },
};

export const DELETE_EXAMPLES: ExamplesObject = {
  google: { summary: 'A Google account', value: { ext_id: GOOGLE.ext_id, provider: GOOGLE.provider } },
  officialClient: { summary: 'As @selfcommunity/api-services sends it', value: OFFICIAL_CLIENT },
};
