import { applyDecorators } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import { ApiProblemResponses } from '../openapi/api-responses';
import { UserDto } from './dto/user.dto';

/** The OpenAPI description of each route of UsersController; access is the controller's. */

/** POST /api/v2/sso/signup/ */
export const ApiSignupUser = () =>
  applyDecorators(
    ApiOperation({ summary: 'Create a user', description: 'Auth: admin.' }),
    ApiCreatedResponse({ type: UserDto, description: 'The new user' }),
    ApiProblemResponses({
      400: 'Malformed body',
      401: 'No token, or a token that fails any check',
      403: 'The caller is not an admin',
      409: { description: 'The username is taken', examples: ['username_taken'] },
      413: 'The body is larger than the configured limit',
      415: 'The body is not `application/json`',
    }),
  );

/** GET /api/v2/user/me/ */
export const ApiGetCurrentUser = () =>
  applyDecorators(
    ApiOperation({ summary: "The caller's own user", description: 'Auth: any authenticated user.' }),
    ApiOkResponse({ type: UserDto, description: "The caller's record" }),
    ApiProblemResponses({ 401: 'No token, or a token that fails any check' }),
  );
