import { ApiPropertyOptional } from '@nestjs/swagger';
import { PageLimit } from '../../common/validation/page-limit';
import { Transform } from 'class-transformer';
import { IsOptional, ValidateBy } from 'class-validator';
import { IsDateTime, restorePlusOffset } from '../../common/validation/date-time';
import { IsLaterThan } from '../../common/validation/request-rules';
import { IsId, IsProviderSlug } from '../../common/validation/decorators';
import { OPENAPI_ID, OPENAPI_PROVIDER, withoutExample } from '../../openapi/schemas';
import { decodeCursor } from '../audit-cursor';

/**
 * Query of GET /api/v2/audit/social-associations/ (no example values: Swagger UI
 * would pre-fill them, and each filter changes what the request means). Filters combine with AND;
 * the time window is [since, until). `cursor` is the `next` of the previous page,
 * asked with the same filters.
 */
export class ListAuditEventsQueryDto {
  @ApiPropertyOptional({ ...OPENAPI_ID, description: 'Only events about this user (`target_user_id`)' })
  @IsOptional()
  @IsId('user_id')
  user_id?: number;

  @ApiPropertyOptional({
    ...withoutExample(OPENAPI_PROVIDER),
    description: 'Only events about identities of this provider',
  })
  @IsOptional()
  @IsProviderSlug()
  provider?: string;

  @ApiPropertyOptional({
    type: 'string',
    format: 'date-time',
    maxLength: 32,
    description: 'Only events at or after this instant (ISO-8601 with a time zone)',
  })
  @IsOptional()
  @Transform(restorePlusOffset)
  @IsDateTime('since')
  since?: string;

  @ApiPropertyOptional({
    type: 'string',
    format: 'date-time',
    maxLength: 32,
    description: 'Only events before this instant (ISO-8601 with a time zone)',
  })
  @IsOptional()
  @Transform(restorePlusOffset)
  @IsDateTime('until')
  @IsLaterThan('since', 'until must be later than since')
  until?: string;

  @PageLimit(100, 50)
  limit?: number;

  @ApiPropertyOptional({
    type: 'string',
    pattern: '^[A-Za-z0-9_-]{1,16}$',
    maxLength: 16,
    description: '`next` of the previous page (opaque); ask it with the same filters',
  })
  @IsOptional()
  @ValidateBy(
    {
      name: 'isCursor',
      validator: { validate: (value: unknown) => typeof value === 'string' && decodeCursor(value) !== undefined },
    },
    { message: 'cursor must be the `next` value of a previous page' },
  )
  cursor?: string;
}
