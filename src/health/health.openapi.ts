import { applyDecorators } from '@nestjs/common';
import { ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import { ApiProblemResponses } from '../openapi/api-responses';
import { OPENAPI_HEALTH_CHECK_RESULT } from '../openapi/schemas';

/** The OpenAPI description of each route of HealthController; access is the controller's (@Public()). */

/** GET /health/live */
export const ApiCheckLiveness = () =>
  applyDecorators(
    ApiOperation({ operationId: 'checkLiveness', summary: 'Liveness probe', description: 'No authentication.' }),
    ApiOkResponse({ schema: OPENAPI_HEALTH_CHECK_RESULT, description: 'The process is up and serving HTTP' }),
    ApiProblemResponses({ 429: false, 503: 'The process is shutting down' }),
  );

/** GET /health/ready */
export const ApiCheckReadiness = () =>
  applyDecorators(
    ApiOperation({
      operationId: 'checkReadiness',
      summary: 'Readiness probe',
      description: 'No authentication. The answer comes from a check of the database at most one second old.',
    }),
    ApiOkResponse({ schema: OPENAPI_HEALTH_CHECK_RESULT, description: 'The database answers' }),
    ApiProblemResponses({ 429: false, 503: 'The database does not answer, or the process is shutting down' }),
  );
