import { applyDecorators } from '@nestjs/common';
import {
  ApiBody,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiQuery,
} from '@nestjs/swagger';
import { ApiProblemResponses } from '../openapi/api-responses';
import { CREATE_BODY_USER_EXAMPLES, CREATE_EXAMPLES, DELETE_EXAMPLES } from '../openapi/examples';
import { OPENAPI_EXT_ID, OPENAPI_PROVIDER, withoutExample } from '../openapi/schemas';
import { CreateBodyUserSocialAssociationDto } from './dto/create-body-user-social-association.dto';
import { CreateSocialAssociationDto } from './dto/create-social-association.dto';
import { DeleteSocialAssociationDto } from './dto/delete-social-association.dto';
import { UserExternalProviderDto } from './dto/user-external-provider.dto';

/**
 * The OpenAPI description of each route of UserProviderController, one composed
 * decorator per route; access (and its security documentation) is the controller's.
 */

/** The errors both create routes share (each adds its own 400). */
const CREATE_PROBLEMS: Parameters<typeof ApiProblemResponses>[0] = {
  401: 'No token, or a token that fails any check',
  403: 'The caller is neither that user nor an admin (also when that user does not exist)',
  404: { description: 'The user does not exist (admin callers)', examples: ['not_found'] },
  409: {
    description:
      '`(provider, ext_id)` is already linked, to this or another user; or the user already holds `MAX_ASSOCIATIONS_PER_USER` associations (100 by default)',
    examples: ['already_linked', 'too_many_associations'],
  },
  413: 'The body is larger than the configured limit',
  415: 'The body is not `application/json`',
};

/** POST /api/v2/user/provider/ */
export const ApiCreateSocialAssociation = () =>
  applyDecorators(
    ApiOperation({
      summary: 'Create a social association (user in the body)',
      description: 'Auth: self or admin. The user comes from the body `user_id`, which is required here.',
    }),
    ApiBody({ type: CreateBodyUserSocialAssociationDto, examples: CREATE_BODY_USER_EXAMPLES }),
    ApiCreatedResponse({ type: UserExternalProviderDto, description: 'The new association' }),
    ApiProblemResponses({
      400: {
        description:
          'Malformed body, `user_id` missing, a provider the operator does not allow, or a field rule violated',
        examples: ['invalid', 'unknown_field'],
      },
      ...CREATE_PROBLEMS,
    }),
  );

/** POST /api/v2/user/{id}/provider/ */
export const ApiCreateUserSocialAssociation = () =>
  applyDecorators(
    ApiOperation({
      summary: 'Create a social association of a user',
      description: 'Auth: self or admin. A `user_id` in the body is accepted and must equal the path id.',
    }),
    ApiBody({ type: CreateSocialAssociationDto, examples: CREATE_EXAMPLES }),
    ApiCreatedResponse({ type: UserExternalProviderDto, description: 'The new association' }),
    ApiProblemResponses({
      400: {
        description:
          'Malformed id or body, `user_id` in the body differs from the path id, a provider the operator does not allow, or a field rule violated',
        examples: ['invalid', 'invalid.id', 'user_id_mismatch', 'unknown_field'],
      },
      ...CREATE_PROBLEMS,
    }),
  );

/** GET /api/v2/user/provider/ */
export const ApiListSocialAssociations = () =>
  applyDecorators(
    ApiOperation({
      summary: 'List the social associations of a user, or resolve an external identity',
      description: [
        'Auth: optional.',
        "- `user_id`: that user's associations. Self or admin sees all of them; anyone else, anonymous included, only those with `show_in_profile: true`, without `metadata`.",
        '- `provider` and `ext_id` (admins): an array of zero or one association, "which user is this Google account?".',
        "- neither: the caller's own associations (401 when anonymous).",
      ].join('\n'),
    }),
    ApiOkResponse({ type: [UserExternalProviderDto], description: 'The associations, oldest first' }),
    ApiProblemResponses({
      400: 'Malformed query, an unknown query parameter, `user_id` together with `provider`/`ext_id`, or only one of `provider` and `ext_id`',
      401: 'A token that fails any check; anonymous callers without `user_id`, or resolving an identity',
      403: 'Resolving an identity without the admin role',
      404: { description: 'The user does not exist', examples: ['not_found'] },
    }),
  );

/** GET /api/v2/user/{id}/provider/ */
export const ApiListUserSocialAssociations = () =>
  applyDecorators(
    ApiOperation({
      summary: 'List the social associations of a user',
      description:
        'Auth: optional. Self or admin sees every association of the user; anyone else, anonymous included, only those with `show_in_profile: true`, without `metadata`.',
    }),
    ApiOkResponse({ type: [UserExternalProviderDto], description: 'The associations, oldest first' }),
    ApiProblemResponses({
      400: { description: 'Malformed id', examples: ['invalid.id'] },
      401: 'A token that fails any check (anonymous callers are let through)',
      404: { description: 'The user does not exist', examples: ['not_found'] },
    }),
  );

/** DELETE /api/v2/user/{id}/provider/ */
export const ApiDeleteSocialAssociation = () =>
  applyDecorators(
    ApiOperation({
      summary: 'Delete a social association',
      description: [
        'Auth: self or admin. The association is given in the JSON body; clients that cannot send a body with DELETE',
        'pass `ext_id` and `provider` as query parameters instead. When both give a field and they differ: 400.',
        'Each successful delete writes an audit event. Of two concurrent deletes of one association, one gets 204, the other 404.',
      ].join(' '),
    }),
    ApiBody({ type: DeleteSocialAssociationDto, required: false, examples: DELETE_EXAMPLES }),
    ApiQuery({
      name: 'provider',
      required: false,
      // No example: Swagger UI would pre-fill it, and a body naming another provider would then be a 400.
      schema: {
        type: OPENAPI_PROVIDER.type,
        minLength: OPENAPI_PROVIDER.minLength,
        maxLength: OPENAPI_PROVIDER.maxLength,
        pattern: OPENAPI_PROVIDER.pattern,
      },
      description: 'Instead of the body `provider`',
    }),
    ApiQuery({
      name: 'ext_id',
      required: false,
      schema: withoutExample(OPENAPI_EXT_ID),
      description: 'Instead of the body `ext_id`',
    }),
    ApiNoContentResponse({ description: 'The association existed for that user and is gone (empty body)' }),
    ApiProblemResponses({
      400: {
        description:
          'Malformed id, body or query; body and query name different associations; `user_id` in the body differs from the path id',
        examples: ['invalid', 'invalid.id', 'user_id_mismatch'],
      },
      401: 'No token, or a token that fails any check',
      403: 'The caller is neither that user nor an admin (also when that user does not exist: no enumeration)',
      404: {
        description: 'The user does not exist (admin callers), or that user has no such association',
        examples: ['not_found.association', 'not_found'],
      },
      409: {
        description: 'A non-admin removes their last sign-in method while their account has no usable password',
        examples: ['last_sign_in_method'],
      },
      413: 'The body is larger than the configured limit',
      415: 'The body is not `application/json`',
    }),
  );
