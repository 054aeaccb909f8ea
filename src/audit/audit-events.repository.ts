import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuditAction, AuditEvent } from './audit-event.entity';

export interface AuditEventFilter {
  targetUserId?: number;
  provider?: string;
  /** Inclusive. */
  since?: Date;
  /** Exclusive. */
  until?: Date;
  /** Keyset pagination: only events older than this id. */
  beforeId?: number;
  limit: number;
}

interface AuditEventRow {
  id: number;
  occurred_at: Date | string;
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
 *
 * Timestamps differ by dialect: PostgreSQL has timestamptz, SQLite has UTC text
 * `YYYY-MM-DD HH:MM:SS[.SSS]`. Filters and results are converted here so both
 * behave the same.
 */
@Injectable()
export class AuditEventsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async list(filter: AuditEventFilter): Promise<AuditEvent[]> {
    const postgres = this.dataSource.options.type === 'postgres';
    const params: unknown[] = [];
    const param = (value: unknown): string => {
      params.push(value);
      return postgres ? `$${params.length}` : '?';
    };
    const instant = (date: Date): string =>
      postgres ? `${param(date.toISOString())}::timestamptz` : param(toSqliteTimestamp(date));

    const where: string[] = [];
    if (filter.targetUserId !== undefined) where.push(`target_user_id = ${param(filter.targetUserId)}`);
    if (filter.provider !== undefined) where.push(`provider = ${param(filter.provider)}`);
    if (filter.since !== undefined) where.push(`occurred_at >= ${instant(filter.since)}`);
    if (filter.until !== undefined) where.push(`occurred_at < ${instant(filter.until)}`);
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
    id: Number(row.id),
    occurredAt: row.occurred_at instanceof Date ? row.occurred_at : fromSqliteTimestamp(row.occurred_at),
    actorUserId: row.actor_user_id === null ? null : Number(row.actor_user_id),
    action: row.action,
    targetUserId: Number(row.target_user_id),
    provider: row.provider,
    extId: row.ext_id,
    requestId: row.request_id,
  });
}

/**
 * SQLite compares the stored text. Whole seconds are written without a fraction,
 * exactly as `datetime('now')` stores them, so that text order matches time order
 * against both `…:SS` and `…:SS.SSS` values.
 */
function toSqliteTimestamp(date: Date): string {
  const iso = date.toISOString(); // 2025-01-31T12:00:00.000Z
  const text = `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
  return text.endsWith('.000') ? text.slice(0, 19) : text;
}

function fromSqliteTimestamp(text: string): Date {
  const iso = text.includes('T') ? text : text.replace(' ', 'T');
  return new Date(/(Z|[+-]\d{2}:?\d{2})$/.test(iso) ? iso : `${iso}Z`);
}
