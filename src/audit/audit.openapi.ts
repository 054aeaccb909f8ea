import { applyDecorators } from '@nestjs/common';
import { ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import { ApiProblemResponses } from '../openapi/api-responses';
import { AuditEventPageDto } from './dto/audit-event.dto';

/** The OpenAPI description of each route of AuditController; access is the controller's. */

/** GET /api/v2/audit/social-associations/ */
export const ApiListSocialAssociationAuditEvents = () =>
  applyDecorators(
    ApiOperation({
      summary: 'The audit trail of social associations',
      description: [
        'Auth: admin. Every create and delete, written in the same transaction as the change, newest first.',
        'Filters combine; the time window is [`since`, `until`). Page with `limit` and the `next` cursor.',
      ].join('\n'),
    }),
    ApiOkResponse({ type: AuditEventPageDto, description: 'A page of events, newest first' }),
    ApiProblemResponses({
      400: 'A malformed filter, `limit` or `cursor`, `until` not after `since`, or an unknown query parameter',
      401: 'No token, or a token that fails any check',
      403: 'The caller is not an admin',
    }),
  );
