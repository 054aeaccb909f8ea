import { ApiPropertyOptional } from '@nestjs/swagger';
import { PageLimit } from '../../common/validation/page-limit';
import { IsOptional, ValidateBy } from 'class-validator';
import { decodeDeliveryCursor } from '../delivery-cursor';

/** Query of GET /api/v2/webhooks/{id}/deliveries/: the audit API's paging. */
export class ListWebhookDeliveriesQueryDto {
  @PageLimit(100, 50)
  limit?: number;

  @ApiPropertyOptional({
    type: 'string',
    pattern: '^[A-Za-z0-9_-]{1,24}$',
    maxLength: 24,
    description: '`next` of the previous page (opaque)',
  })
  @IsOptional()
  @ValidateBy(
    {
      name: 'isCursor',
      validator: {
        validate: (value: unknown) => typeof value === 'string' && decodeDeliveryCursor(value) !== undefined,
      },
    },
    { message: 'cursor must be the `next` value of a previous page' },
  )
  cursor?: string;
}
