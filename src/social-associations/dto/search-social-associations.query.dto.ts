import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsInt, IsOptional, Max, Min, ValidateBy } from 'class-validator';
import { IsDateTime, restorePlusOffset } from '../../common/validation/date-time';
import { IsExtId, IsId, IsOmittable, IsProviderSlug } from '../../common/validation/decorators';
import { IsLaterThan } from '../../common/validation/request-rules';
import { OPENAPI_EXT_ID, OPENAPI_PROVIDER, OPENAPI_USER_ID } from '../../openapi/schemas';
import { decodeSearchCursor } from '../association-search-cursor';

export const MAX_SEARCH_PAGE_SIZE = 200;
const LIMIT_MESSAGE = `limit must be an integer from 1 to ${MAX_SEARCH_PAGE_SIZE}`;

const toInt = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^-?\d{1,10}$/.test(value) ? Number(value) : value;

/**
 * The filters of the admin search and of its export. They combine with AND; the
 * time window is [created_since, created_until). The export's query: it has no
 * pages, so `limit` and `cursor` are unknown parameters there (a 400).
 */
export class AssociationFilterQueryDto {
  @ApiPropertyOptional({ ...OPENAPI_PROVIDER, example: undefined, description: 'Only identities of this provider' })
  @IsOptional()
  @IsProviderSlug()
  provider?: string;

  @ApiPropertyOptional({ ...OPENAPI_USER_ID, example: undefined, description: "Only this user's identities" })
  @IsOmittable()
  @IsId('user_id')
  user_id?: number;

  @ApiPropertyOptional({ ...OPENAPI_EXT_ID, example: undefined, description: 'Only identities with exactly this id' })
  @IsOptional()
  @IsExtId()
  ext_id?: string;

  @ApiPropertyOptional({
    ...OPENAPI_EXT_ID,
    example: undefined,
    description: 'Only identities whose id starts with this text (code point by code point, case-sensitive)',
  })
  @IsOptional()
  @IsExtId(
    'ext_id_prefix must be a string of 1 to 255 characters without control characters, or a non-negative integer',
  )
  ext_id_prefix?: string;

  @ApiPropertyOptional({
    type: 'string',
    format: 'date-time',
    description: 'Only identities linked at or after this instant (ISO-8601 with a time zone)',
  })
  @IsOptional()
  @Transform(restorePlusOffset)
  @IsDateTime('created_since')
  created_since?: string;

  @ApiPropertyOptional({
    type: 'string',
    format: 'date-time',
    description: 'Only identities linked before this instant (ISO-8601 with a time zone)',
  })
  @IsOptional()
  @Transform(restorePlusOffset)
  @IsDateTime('created_until')
  @IsLaterThan('created_since', 'created_until must be later than created_since')
  created_until?: string;
}

/** Query of GET /api/v2/social-associations/: the filters, and a page. `cursor` is the `next` of the previous page, asked with the same filters. */
export class SearchSocialAssociationsQueryDto extends AssociationFilterQueryDto {
  @ApiPropertyOptional({
    type: 'integer',
    format: 'int32',
    minimum: 1,
    maximum: MAX_SEARCH_PAGE_SIZE,
    default: 50,
    description: 'Page size',
  })
  @IsOptional()
  @Transform(toInt)
  @IsInt({ message: LIMIT_MESSAGE })
  @Min(1, { message: LIMIT_MESSAGE })
  @Max(MAX_SEARCH_PAGE_SIZE, { message: LIMIT_MESSAGE })
  limit?: number;

  @ApiPropertyOptional({
    type: 'string',
    pattern: '^[A-Za-z0-9_-]{1,64}$',
    description: '`next` of the previous page (opaque); ask it with the same filters',
  })
  @IsOptional()
  @ValidateBy(
    {
      name: 'isCursor',
      validator: { validate: (value: unknown) => typeof value === 'string' && decodeSearchCursor(value) !== undefined },
    },
    { message: 'cursor must be the `next` value of a previous page' },
  )
  cursor?: string;
}
