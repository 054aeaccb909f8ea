import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuditAction, AuditEvent } from './audit-event.entity';

export interface AuditEventFilter {
  targetUserId?: number;
  provider?: string;
  /** Inclusive; ISO-8601 with a zone, as the client gave it (PostgreSQL parses it, to the microsecond). */
  since?: string;
  /** Exclusive; as `since`. */
  until?: string;
  /** Keyset pagination: only events older than this id. */
  beforeId?: number;
  limit: number;
}

interface AuditEventRow {
  id: number;
  occurred_at: Date;
  actor_user_id: number | null;
  action: AuditAction;
  target_user_id: number;
  provider: string;
  ext_id: string;
  request_id: string | null;
}

/**
 * Reads of `audit_events` (writes go through AuditService, inside the change's
 * transaction). Newest first by id, keyset-paginated: the primary key, or the
 * `(target_user_id, id)` / `(provider, id)` indexes when those filters are given.
 */
@Injectable()
export class AuditEventsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async list(filter: AuditEventFilter): Promise<AuditEvent[]> {
    const params: unknown[] = [];
    const param = (value: unknown): string => {
      params.push(value);
      return `$${params.length}`;
    };

    const where: string[] = [];
    if (filter.targetUserId !== undefined) where.push(`target_user_id = ${param(filter.targetUserId)}`);
    if (filter.provider !== undefined) where.push(`provider = ${param(filter.provider)}`);
    if (filter.since !== undefined) where.push(`occurred_at >= ${param(filter.since)}::timestamptz`);
    if (filter.until !== undefined) where.push(`occurred_at < ${param(filter.until)}::timestamptz`);
    if (filter.beforeId !== undefined) where.push(`id < ${param(filter.beforeId)}`);

    const rows: AuditEventRow[] = await this.dataSource.query(
      `SELECT id, occurred_at, actor_user_id, action, target_user_id, provider, ext_id, request_id
         FROM audit_events
        ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY id DESC
        LIMIT ${param(filter.limit)}`,
      params,
    );
    return rows.map(toAuditEvent);
  }
}

function toAuditEvent(row: AuditEventRow): AuditEvent {
  return Object.assign(new AuditEvent(), {
    id: row.id,
    occurredAt: row.occurred_at,
    actorUserId: row.actor_user_id,
    action: row.action,
    targetUserId: row.target_user_id,
    provider: row.provider,
    extId: row.ext_id,
    requestId: row.request_id,
  });
}
