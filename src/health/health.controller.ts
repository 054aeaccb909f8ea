import { Controller, Get } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckResult, HealthCheckService } from '@nestjs/terminus';
import { SkipThrottle } from '@nestjs/throttler';
import { Public } from '../auth/decorators';
import { OPENAPI_TAGS } from '../openapi/openapi';
import { ApiCheckLiveness, ApiCheckReadiness } from './health.openapi';
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
  @ApiCheckLiveness()
  live(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  /** The database answers (checked at most once a second); 503 when it does not. */
  @Get('ready')
  @HealthCheck({ noCache: true, swaggerDocumentation: false })
  @ApiCheckReadiness()
  ready(): Promise<HealthCheckResult> {
    return this.readiness.check();
  }
}
