import { ApiProperty, ApiSchema } from '@nestjs/swagger';
import { OPENAPI_EXT_ID, OPENAPI_ID, OPENAPI_PROVIDER, OPENAPI_USER_ID } from '../../openapi/schemas';
import { AUDIT_ACTIONS, AuditAction } from '../audit-event.entity';

/** The wire shape of one audit event. */
@ApiSchema({ name: 'AuditEvent', description: 'One change to a social association, written with the change.' })
export class AuditEventDto {
  @ApiProperty({ ...OPENAPI_ID, example: 123 })
  id!: number;

  @ApiProperty({
    type: 'string',
    format: 'date-time',
    description: 'When the change committed: UTC, millisecond precision',
    example: '2025-01-31T12:00:00.000Z',
  })
  occurred_at!: string;

  @ApiProperty({
    ...OPENAPI_USER_ID,
    nullable: true,
    description: 'Who made the change; null for the operator CLI',
    example: 1,
  })
  actor_user_id!: number | null;

  @ApiProperty({ enum: AUDIT_ACTIONS, enumName: 'AuditAction', example: 'social_association.deleted' })
  action!: AuditAction;

  @ApiProperty({ ...OPENAPI_USER_ID, description: 'The user whose association changed' })
  target_user_id!: number;

  @ApiProperty(OPENAPI_PROVIDER)
  provider!: string;

  @ApiProperty(OPENAPI_EXT_ID)
  ext_id!: string;

  @ApiProperty({
    type: 'string',
    nullable: true,
    description: 'The X-Request-Id of the request that made the change; null for the operator CLI',
    example: '4b0f2c1e-5a7d-4c39-9d1e-3f1b2a6c7d8e',
  })
  request_id!: string | null;
}

/** One page, newest first; `next` is the cursor of the following page, null on the last one. */
@ApiSchema({ name: 'AuditEventPage', description: 'A page of audit events, newest first.' })
export class AuditEventPageDto {
  @ApiProperty({ type: [AuditEventDto], maxItems: 100, description: 'At most `limit` events' })
  results!: AuditEventDto[];

  @ApiProperty({
    type: 'string',
    nullable: true,
    description: 'Pass as `cursor` for the next (older) page; null on the last page',
    example: 'MTIz',
  })
  next!: string | null;
}
