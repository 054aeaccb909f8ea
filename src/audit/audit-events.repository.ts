import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AuditAction, AuditEvent } from './audit-event.entity';

/** One audit event to write: who did what to which identity of whom, in which request. */
export interface AuditRecord {
  actorUserId: number | null;
  action: AuditAction;
  targetUserId: number;
  provider: string;
  extId: string;
  requestId: string | null;
}

/**
 * The one INSERT of `audit_events`. Its values are the six parameters from
 * `$firstParam` on, in the order of `auditRecordParams`. With `forEachRowOf` (a CTE
 * name) it writes one event per row that CTE returns, so a statement that changes
 * an association can carry its event and commit with it: none when nothing changed.
 */
export function insertAuditEventSql(firstParam: number, forEachRowOf?: string): string {
  const values = Array.from({ length: 6 }, (_, i) => `$${firstParam + i}`).join(', ');
  return (
    'INSERT INTO audit_events (actor_user_id, action, target_user_id, provider, ext_id, request_id) ' +
    `SELECT ${values}${forEachRowOf ? ` FROM ${forEachRowOf}` : ''}`
  );
}

export function auditRecordParams(record: AuditRecord): (string | number | null)[] {
  return [record.actorUserId, record.action, record.targetUserId, record.provider, record.extId, record.requestId];
}

/**
 * The bulk form of `insertAuditEventSql`: one event per row of the CTE `source`,
 * which has the columns `user_id`, `provider` and `ext_id` (the target of each
 * event). The actor, action and request id are the three parameters from
 * `$firstParam` on, in the order of `bulkAuditParams`.
 */
export function insertAuditEventsForEachRowSql(source: string, firstParam: number): string {
  return (
    'INSERT INTO audit_events (actor_user_id, action, target_user_id, provider, ext_id, request_id) ' +
    `SELECT $${firstParam}::integer, $${firstParam + 1}::varchar, user_id, provider, ext_id, $${firstParam + 2}::varchar FROM ${source}`
  );
}

/** What every event of one bulk write shares. */
export type BulkAuditRecord = Pick<AuditRecord, 'actorUserId' | 'action' | 'requestId'>;

export function bulkAuditParams(record: BulkAuditRecord): (string | number | null)[] {
  return [record.actorUserId, record.action, record.requestId];
}

const INSERT_AUDIT_EVENT_SQL = insertAuditEventSql(1);

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
 * Every query on `audit_events`. Writes: `insert` inside a transaction the caller
 * owns, or `insertAuditEventSql` inside another repository's statement. Reads:
 * newest first by id, keyset-paginated: the primary key, or the
 * `(target_user_id, id)` / `(provider, id)` indexes when those filters are given.
 */
@Injectable()
export class AuditEventsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Writes one event in the caller's transaction: it commits or rolls back with the change it describes. */
  async insert(manager: EntityManager, record: AuditRecord): Promise<void> {
    await manager.query(INSERT_AUDIT_EVENT_SQL, auditRecordParams(record));
  }

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
