import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuditAction } from '../audit/audit-event.entity';

/** A subscription, as stored (the secret included: it signs every delivery). */
export interface WebhookEndpointRow {
  id: number;
  url: string;
  /** Null: every event type, including types added later. */
  events: AuditAction[] | null;
  description: string;
  secret: string;
  created_at: Date;
  disabled: boolean;
  disabled_reason: string | null;
  disabled_at: Date | null;
}

/** One attempt to deliver one event to one endpoint. */
export interface WebhookDeliveryRow {
  id: string;
  event_id: number;
  attempt: number;
  outcome: 'delivered' | 'failed' | 'given_up';
  status_code: number | null;
  error: string | null;
  duration_ms: number;
  attempted_at: Date;
}

const ENDPOINT_COLUMNS = 'id, url, events, description, secret, created_at, disabled, disabled_reason, disabled_at';

/**
 * A replay starts at the first event at or after `since` by time, less a margin:
 * an event's time is its transaction's start, its id is taken later, so an event
 * of a transaction that started after `since` may hold a slightly smaller id than
 * the first one by time. No transaction of this service lasts 5 minutes.
 */
const INSERT_REPLAY_SQL = `
  INSERT INTO webhook_replays (endpoint_id, since, after_id)
  SELECT $1, $2::timestamptz, coalesce((
           SELECT id FROM audit_events WHERE occurred_at >= $2::timestamptz - interval '5 minutes'
            ORDER BY occurred_at LIMIT 1), 2147483647) - 1
  RETURNING id`;

/** The subscriptions and their delivery log: what the admin API reads and writes. */
@Injectable()
export class WebhooksRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async insert(
    endpoint: Pick<WebhookEndpointRow, 'url' | 'events' | 'description' | 'secret'>,
  ): Promise<WebhookEndpointRow> {
    const [row]: WebhookEndpointRow[] = await this.dataSource.query(
      `INSERT INTO webhook_endpoints (url, events, description, secret) VALUES ($1, $2, $3, $4) RETURNING ${ENDPOINT_COLUMNS}`,
      [endpoint.url, endpoint.events, endpoint.description, endpoint.secret],
    );
    return row;
  }

  count(): Promise<number> {
    return this.dataSource
      .query('SELECT count(*)::integer AS n FROM webhook_endpoints')
      .then((rows: { n: number }[]) => rows[0].n);
  }

  list(): Promise<WebhookEndpointRow[]> {
    return this.dataSource.query(`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints ORDER BY id`);
  }

  async find(id: number): Promise<WebhookEndpointRow | null> {
    const [row]: WebhookEndpointRow[] = await this.dataSource.query(
      `SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1`,
      [id],
    );
    return row ?? null;
  }

  /** False when there was no such endpoint. Its streams, deliveries and replays go with it. */
  async delete(id: number): Promise<boolean> {
    const [, affected]: [unknown, number] = await this.dataSource.query('DELETE FROM webhook_endpoints WHERE id = $1', [
      id,
    ]);
    return affected > 0;
  }

  /** The endpoint's attempts, newest first, with ids below `beforeId`. */
  deliveries(endpointId: number, beforeId: string | undefined, limit: number): Promise<WebhookDeliveryRow[]> {
    return this.dataSource.query(
      `SELECT id::text AS id, event_id, attempt, outcome, status_code, error, duration_ms, attempted_at
         FROM webhook_deliveries
        WHERE endpoint_id = $1 AND ($2::bigint IS NULL OR id < $2::bigint)
        ORDER BY id DESC LIMIT $3`,
      [endpointId, beforeId ?? null, limit],
    );
  }

  /**
   * Queues the endpoint's events since `since` again, and enables the endpoint
   * (a replay is an admin's "try again"). Null when there is no such endpoint.
   */
  async replay(endpointId: number, since: string): Promise<number | null> {
    return this.dataSource.transaction(async (manager) => {
      const [, enabled]: [unknown, number] = await manager.query(
        'UPDATE webhook_endpoints SET disabled = false, disabled_reason = NULL, disabled_at = NULL WHERE id = $1',
        [endpointId],
      );
      if (enabled === 0) return null;
      const [row]: { id: number }[] = await manager.query(INSERT_REPLAY_SQL, [endpointId, since]);
      return row.id;
    });
  }
}
