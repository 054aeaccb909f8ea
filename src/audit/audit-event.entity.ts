import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export const AUDIT_ACTIONS = ['social_association.created', 'social_association.deleted'] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** Append-only record of every change to a social association. */
@Entity({ name: 'audit_events' })
@Index('ix_audit_events_target_user_id_id', ['targetUserId', 'id'])
@Index('ix_audit_events_occurred_at', ['occurredAt'])
@Index('ix_audit_events_provider_id', ['provider', 'id'])
export class AuditEvent {
  @PrimaryGeneratedColumn()
  id!: number;

  @CreateDateColumn({ name: 'occurred_at', type: 'timestamptz' })
  occurredAt!: Date;

  /** Null when the change came from the operator CLI. */
  @Column({ name: 'actor_user_id', type: 'integer', nullable: true })
  actorUserId!: number | null;

  @Column({ type: 'varchar', length: 64 })
  action!: AuditAction;

  @Column({ name: 'target_user_id', type: 'integer' })
  targetUserId!: number;

  @Column({ type: 'varchar', length: 32 })
  provider!: string;

  @Column({ name: 'ext_id', type: 'varchar', length: 255 })
  extId!: string;

  @Column({ name: 'request_id', type: 'varchar', length: 64, nullable: true })
  requestId!: string | null;
}
