import { Controller, Get, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { AdminOnly } from '../auth/decorators';
import { OPENAPI_TAGS } from '../openapi/openapi';
import { ApiListSocialAssociationAuditEvents } from './audit.openapi';
import { AuditService } from './audit.service';
import { AuditEventPageDto } from './dto/audit-event.dto';
import { ListAuditEventsQueryDto } from './dto/list-audit-events.query.dto';

/** The audit trail of changes to social associations (admins). Documentation: audit.openapi.ts. */
@ApiTags(OPENAPI_TAGS.audit)
@Controller('api/v2/audit')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get('social-associations')
  @AdminOnly()
  @ApiListSocialAssociationAuditEvents()
  listSocialAssociationAuditEvents(@Query() query: ListAuditEventsQueryDto): Promise<AuditEventPageDto> {
    return this.audit.list(query);
  }
}
