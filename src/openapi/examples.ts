import type { ExamplesObject } from '@nestjs/swagger';

/** Request examples shown in Swagger UI. */
export const CREATE_EXAMPLES: ExamplesObject = {
  google: {
    summary: 'A Google account, shown in the profile',
    value: {
      ext_id: '108234567890123456789',
      provider: 'google',
      profile_url: 'https://plus.google.com/108234567890123456789',
      show_in_profile: true,
    },
  },
  external: {
    summary: 'An identity of the `external` provider, with metadata',
    value: { ext_id: 'acme-42', provider: 'external', metadata: { tenant: 'acme' } },
  },
  officialClient: {
    summary: 'As @selfcommunity/api-services sends it: numeric ext_id and user_id',
    value: { ext_id: 42, provider: 'keycloak', user_id: 7 },
  },
};

export const DELETE_EXAMPLES: ExamplesObject = {
  google: { summary: 'A Google account', value: { ext_id: '108234567890123456789', provider: 'google' } },
  officialClient: {
    summary: 'As @selfcommunity/api-services sends it',
    value: { ext_id: 42, provider: 'keycloak', user_id: 7 },
  },
};
