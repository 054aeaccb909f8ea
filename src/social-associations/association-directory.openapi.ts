import { applyDecorators } from '@nestjs/common';
import { ApiExtraModels, ApiOkResponse, ApiOperation, ApiProduces, getSchemaPath } from '@nestjs/swagger';
import { ApiProblemResponses } from '../openapi/api-responses';
import {
  SocialAssociationPageDto,
  SocialAssociationStatsDto,
  SocialAssociationWithDateDto,
} from './dto/social-association-page.dto';

/** The OpenAPI description of each route of AssociationDirectoryController; access is the controller's. */

const FILTERS =
  'Filters combine: `provider`, `user_id`, `ext_id` (exact), `ext_id_prefix`, and the window [`created_since`, `created_until`).';

/** GET /api/v2/social-associations/ */
export const ApiSearchSocialAssociations = () =>
  applyDecorators(
    ApiOperation({
      summary: 'Search every social association',
      description: [
        'Auth: admin. Every association across users, newest first (by when it was linked), a page at a time.',
        `${FILTERS} Page with \`limit\` (1-200) and the \`next\` cursor.`,
      ].join('\n'),
    }),
    ApiOkResponse({ type: SocialAssociationPageDto, description: 'A page of associations, newest first' }),
    ApiProblemResponses({
      400: 'A malformed filter, `limit` or `cursor`, `created_until` not after `created_since`, or an unknown query parameter',
      401: 'No token, or a token that fails any check',
      403: 'The caller is not an admin',
    }),
  );

/** GET /api/v2/social-associations/stats/ */
export const ApiCountSocialAssociations = () =>
  applyDecorators(
    ApiOperation({
      summary: 'Count the social associations, by provider',
      description:
        'Auth: admin. Exact counts, taken at most 5 seconds before the answer (callers within those seconds share one count).',
    }),
    ApiOkResponse({ type: SocialAssociationStatsDto, description: 'The counts' }),
    ApiProblemResponses({
      400: 'An unknown query parameter',
      401: 'No token, or a token that fails any check',
      403: 'The caller is not an admin',
    }),
  );

/** GET /api/v2/social-associations/export/ */
export const ApiExportSocialAssociations = () =>
  applyDecorators(
    ApiOperation({
      summary: 'Export social associations as NDJSON',
      description: [
        'Auth: admin. Every association the filters match, newest first, one JSON object (a `UserExternalProviderWithDate`) a line,',
        'all read from one snapshot of the database, streamed at the pace the client reads.',
        `${FILTERS} No pages: \`limit\` and \`cursor\` are not parameters here.`,
        'At most 2 exports run at once (429 past that); a client that stops reading for 30 s is disconnected.',
        'The output imports back unchanged with the operator CLI (`associations:import`).',
      ].join('\n'),
    }),
    ApiProduces('application/x-ndjson'),
    ApiExtraModels(SocialAssociationWithDateDto),
    ApiOkResponse({
      description:
        'NDJSON: one association per line, each a UserExternalProviderWithDate (the schema is a line’s), newest first',
      content: {
        'application/x-ndjson': {
          schema: { $ref: getSchemaPath(SocialAssociationWithDateDto) },
          // One line's object (the schema is a line's).
          example: {
            user_id: 1,
            provider: 'google',
            ext_id: '123',
            profile_url: null,
            show_in_profile: false,
            metadata: null,
            created_at: '2025-01-31T12:00:00.123456Z',
          },
        },
      },
    }),
    ApiProblemResponses({
      400: 'A malformed filter, `created_until` not after `created_since`, or an unknown query parameter',
      401: 'No token, or a token that fails any check',
      403: 'The caller is not an admin',
      429: 'Two exports are running already',
    }),
  );
