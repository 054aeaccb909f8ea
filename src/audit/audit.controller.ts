import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AdminOnly } from '../auth/decorators';
import { ApiProblemResponses } from '../openapi/api-responses';
import { OPENAPI_TAGS } from '../openapi/openapi';
import { AuditService } from './audit.service';
import { AuditEventPageDto } from './dto/audit-event.dto';
import { ListAuditEventsQueryDto } from './dto/list-audit-events.query.dto';

/** The audit trail of changes to social associations (admins). */
@ApiTags(OPENAPI_TAGS.audit)
@Controller('api/v2/audit')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get('social-associations')
  @AdminOnly()
  @ApiOperation({
    summary: 'The audit trail of social associations',
    description: [
      'Auth: admin. Every create and delete, written in the same transaction as the change, newest first.',
      'Filters combine; the time window is [`since`, `until`). Page with `limit` and the `next` cursor.',
    ].join('\n'),
  })
  @ApiOkResponse({ type: AuditEventPageDto, description: 'A page of events, newest first' })
  @ApiProblemResponses({
    400: 'A malformed filter, `limit` or `cursor`, `until` not after `since`, or an unknown query parameter',
    401: 'No token, or a token that fails any check',
    403: 'The caller is not an admin',
  })
  listSocialAssociationAuditEvents(@Query() query: ListAuditEventsQueryDto): Promise<AuditEventPageDto> {
    return this.audit.list(query);
  }
}
