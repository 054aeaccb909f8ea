import { ApiProperty, ApiSchema } from '@nestjs/swagger';
import { AUDIT_ACTIONS, AuditAction } from '../../audit/audit-event.entity';
import { OPENAPI_ID } from '../../openapi/schemas';

/** The wire shape of a subscription (never its secret, except once in WebhookEndpointCreatedDto). */
@ApiSchema({ name: 'WebhookEndpoint', description: 'A subscription to identity-change events.' })
export class WebhookEndpointDto {
  @ApiProperty({ ...OPENAPI_ID, example: 1 })
  id!: number;

  @ApiProperty({ type: 'string', format: 'uri', example: 'https://hooks.example.com/identity-events' })
  url!: string;

  @ApiProperty({
    type: 'array',
    items: { type: 'string', enum: [...AUDIT_ACTIONS] },
    description: 'The event types it receives (every type when it was created without `events`)',
    example: ['social_association.created', 'social_association.deleted'],
  })
  events!: AuditAction[];

  @ApiProperty({ type: 'string', example: 'Session store: revoke sessions of unlinked identities' })
  description!: string;

  @ApiProperty({ type: 'string', format: 'date-time', example: '2025-01-31T12:00:00.000Z' })
  created_at!: string;

  @ApiProperty({
    type: 'boolean',
    description: 'True once an event failed for the whole retry period; a replay enables it again',
    example: false,
  })
  disabled!: boolean;

  @ApiProperty({
    type: 'string',
    nullable: true,
    description: 'Why it was disabled: the event given up and the last error',
    example: null,
  })
  disabled_reason!: string | null;

  @ApiProperty({ type: 'string', format: 'date-time', nullable: true, example: null })
  disabled_at!: string | null;
}

@ApiSchema({ name: 'WebhookEndpointCreated', description: 'A new subscription, with its signing secret.' })
export class WebhookEndpointCreatedDto extends WebhookEndpointDto {
  @ApiProperty({
    type: 'string',
    description:
      'The signing secret (Standard Webhooks form: `whsec_` and base64). Shown only in this answer: keep it, it cannot be read again',
    example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  })
  secret!: string;
}

/** One attempt to deliver one event. */
@ApiSchema({ name: 'WebhookDelivery', description: 'One attempt to deliver one event to the endpoint.' })
export class WebhookDeliveryDto {
  @ApiProperty({ type: 'string', description: 'The attempt (a decimal integer)', example: '42' })
  id!: string;

  @ApiProperty({
    ...OPENAPI_ID,
    description: 'The event (its audit event id; the `webhook-id` header)',
    example: 123,
  })
  event_id!: number;

  @ApiProperty({
    type: 'integer',
    format: 'int32',
    minimum: 1,
    maximum: 2147483647,
    description: 'Which attempt at this event it was',
    example: 1,
  })
  attempt!: number;

  @ApiProperty({
    type: 'string',
    enum: ['delivered', 'failed', 'given_up'],
    description: '`failed`: it is retried; `given_up`: the last attempt, after the retry period',
    example: 'delivered',
  })
  outcome!: 'delivered' | 'failed' | 'given_up';

  @ApiProperty({
    type: 'integer',
    format: 'int32',
    minimum: 100,
    maximum: 599,
    nullable: true,
    description: "The receiver's status; null: no answer",
    example: 200,
  })
  status_code!: number | null;

  @ApiProperty({ type: 'string', nullable: true, description: 'What went wrong; null when delivered', example: null })
  error!: string | null;

  @ApiProperty({
    type: 'integer',
    format: 'int32',
    minimum: 0,
    maximum: 2147483647,
    description: 'How long the attempt took, in ms',
    example: 35,
  })
  duration_ms!: number;

  @ApiProperty({ type: 'string', format: 'date-time', example: '2025-01-31T12:00:00.000Z' })
  attempted_at!: string;
}

@ApiSchema({ name: 'WebhookDeliveryPage', description: 'A page of delivery attempts, newest first.' })
export class WebhookDeliveryPageDto {
  @ApiProperty({ type: [WebhookDeliveryDto], maxItems: 100 })
  results!: WebhookDeliveryDto[];

  @ApiProperty({
    type: 'string',
    nullable: true,
    description: 'Pass as `cursor` for the next (older) page; null on the last page',
    example: 'NDI',
  })
  next!: string | null;
}

@ApiSchema({ name: 'WebhookReplayQueued', description: 'A replay, queued.' })
export class WebhookReplayQueuedDto {
  @ApiProperty({ ...OPENAPI_ID, description: 'The endpoint', example: 1 })
  endpoint_id!: number;

  @ApiProperty({ type: 'string', format: 'date-time', example: '2025-01-31T12:00:00Z' })
  since!: string;

  @ApiProperty({ type: 'boolean', example: true })
  queued!: true;
}
