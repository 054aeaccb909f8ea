import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, ArrayUnique, IsArray, IsIn, IsString, MaxLength } from 'class-validator';
import { AUDIT_ACTIONS, AuditAction } from '../../audit/audit-event.entity';
import { IsOmittable, IsPlainText } from '../../common/validation/decorators';

export const MAX_WEBHOOK_URL_LENGTH = 2048;

/** Body of POST /api/v2/webhooks/. The URL's network rules are checked by the service (they depend on configuration). */
@ApiSchema({ name: 'WebhookEndpointCreate', description: 'A subscription to identity-change events.' })
export class CreateWebhookDto {
  @ApiProperty({
    type: 'string',
    format: 'uri',
    maxLength: MAX_WEBHOOK_URL_LENGTH,
    description:
      'Where events are POSTed: https, and a host that does not resolve to a loopback, private, link-local or metadata address',
    example: 'https://hooks.example.com/identity-events',
  })
  @IsString({ message: 'url must be a string' })
  @MaxLength(MAX_WEBHOOK_URL_LENGTH, { message: `url must be at most ${MAX_WEBHOOK_URL_LENGTH} characters` })
  @IsPlainText({ message: 'url must not contain control characters' })
  url!: string;

  @ApiPropertyOptional({
    type: 'array',
    items: { type: 'string', enum: [...AUDIT_ACTIONS] },
    minItems: 1,
    uniqueItems: true,
    description: 'The event types to receive; omitted: every type, including types added later',
    example: ['social_association.deleted'],
  })
  @IsOmittable()
  @IsArray({ message: 'events must be an array of event types' })
  @ArrayMinSize(1, { message: 'events must name at least one event type (omit it for all)' })
  @ArrayMaxSize(AUDIT_ACTIONS.length, { message: `events has at most ${AUDIT_ACTIONS.length} items` })
  @ArrayUnique({ message: 'events must not repeat a type' })
  @IsIn(AUDIT_ACTIONS, { each: true, message: `events items must be one of ${AUDIT_ACTIONS.join(', ')}` })
  events?: AuditAction[];

  @ApiPropertyOptional({
    type: 'string',
    maxLength: 500,
    description: 'For the admins who read the list',
    example: 'Session store: revoke sessions of unlinked identities',
  })
  @IsOmittable()
  @IsString({ message: 'description must be a string' })
  @MaxLength(500, { message: 'description must be at most 500 characters' })
  @IsPlainText({ message: 'description must not contain control characters' })
  description?: string;
}
