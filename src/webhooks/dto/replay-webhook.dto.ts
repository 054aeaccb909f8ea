import { ApiProperty, ApiSchema } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsDateTime, restorePlusOffset } from '../../common/validation/date-time';

/** Body of POST /api/v2/webhooks/{id}/replay/. */
@ApiSchema({ name: 'WebhookReplay', description: 'Which events to send again.' })
export class ReplayWebhookDto {
  @ApiProperty({
    type: 'string',
    format: 'date-time',
    maxLength: 32,
    description: 'Every event at or after this instant (ISO-8601 with a time zone) is sent again',
    example: '2025-01-31T12:00:00Z',
  })
  @Transform(restorePlusOffset)
  @IsDateTime('since')
  since!: string;
}
