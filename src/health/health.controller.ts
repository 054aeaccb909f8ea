import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckResult, HealthCheckService } from '@nestjs/terminus';
import { SkipThrottle } from '@nestjs/throttler';
import { Public } from '../auth/decorators';
import { ApiProblemResponses } from '../openapi/api-responses';
import { OPENAPI_TAGS } from '../openapi/openapi';
import { OPENAPI_HEALTH_CHECK_RESULT } from '../openapi/schemas';
import { Readiness } from './readiness';

@ApiTags(OPENAPI_TAGS.health)
@Controller('health')
@Public()
@SkipThrottle()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly readiness: Readiness,
  ) {}

  /** The process is up and serving HTTP. */
  @Get('live')
  @HealthCheck({ noCache: true, swaggerDocumentation: false })
  @ApiOperation({ operationId: 'checkLiveness', summary: 'Liveness probe', description: 'No authentication.' })
  @ApiOkResponse({ schema: OPENAPI_HEALTH_CHECK_RESULT, description: 'The process is up and serving HTTP' })
  @ApiProblemResponses({ 429: false, 503: 'The process is shutting down' })
  live(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  /** The database answers (checked at most once a second); 503 when it does not. */
  @Get('ready')
  @HealthCheck({ noCache: true, swaggerDocumentation: false })
  @ApiOperation({
    operationId: 'checkReadiness',
    summary: 'Readiness probe',
    description: 'No authentication. The answer comes from a check of the database at most one second old.',
  })
  @ApiOkResponse({ schema: OPENAPI_HEALTH_CHECK_RESULT, description: 'The database answers' })
  @ApiProblemResponses({ 429: false, 503: 'The database does not answer, or the process is shutting down' })
  ready(): Promise<HealthCheckResult> {
    return this.readiness.check();
  }
}
