import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Signed webhooks of identity changes, with audit_events as the outbox: the event
 * is the audit row, written in the change's own transaction.
 *
 * - `audit_events.xid`: the id of the transaction that wrote the row. Delivery
 *   finds new events by transaction windows: every transaction with an id below
 *   the oldest one still running has ended, so a window never misses a row that
 *   commits late with a lower `id` (which a cursor on `id` would).
 *   Rows written before this migration have none and are never delivered.
 * - `webhook_endpoints`: the subscriptions; `starts_after_xid` is the
 *   registering transaction: its endpoint gets the events of later transactions.
 * - `webhook_dispatch`: the one row that says which transactions were looked at.
 * - `webhook_streams`: per endpoint and user, how far delivery has gone
 *   (`delivered_through`, an audit event id) and how far events are known
 *   (`pending_through`); the unit of work that instances claim.
 * - `webhook_deliveries`: one row per attempt, for admins.
 * - `webhook_replays`: replays an admin asked for, worked through in chunks.
 */
export class AddWebhooks1765000000000 implements MigrationInterface {
  name = 'AddWebhooks1765000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    // bigint rather than xid8: comparable with plain integers on both engines, and the
    // value is the same (transaction ids are 64-bit, epoch included).
    await queryRunner.query('ALTER TABLE audit_events ADD COLUMN xid bigint');
    await queryRunner.query(
      'ALTER TABLE audit_events ALTER COLUMN xid SET DEFAULT (pg_current_xact_id()::text::bigint)',
    );
    await queryRunner.query('CREATE INDEX ix_audit_events_xid ON audit_events (xid)');
    await queryRunner.query(`
      CREATE TABLE webhook_endpoints (
        id serial PRIMARY KEY,
        url varchar(2048) NOT NULL,
        events varchar(64)[],
        description varchar(500) NOT NULL DEFAULT '',
        secret varchar(64) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        starts_after_xid bigint NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
        disabled boolean NOT NULL DEFAULT false,
        disabled_reason varchar(1000),
        disabled_at timestamptz
      )`);
    await queryRunner.query(`
      CREATE TABLE webhook_dispatch (
        id smallint PRIMARY KEY CHECK (id = 1),
        horizon bigint NOT NULL
      )`);
    await queryRunner.query(
      'INSERT INTO webhook_dispatch (id, horizon) VALUES (1, pg_current_xact_id()::text::bigint)',
    );
    await queryRunner.query(`
      CREATE TABLE webhook_streams (
        endpoint_id integer NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
        user_id integer NOT NULL,
        delivered_through integer NOT NULL DEFAULT 0,
        pending_through integer NOT NULL,
        replay_through integer NOT NULL DEFAULT 0,
        attempts integer NOT NULL DEFAULT 0,
        first_failed_at timestamptz,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        lease_until timestamptz,
        PRIMARY KEY (endpoint_id, user_id)
      )`);
    await queryRunner.query(
      'CREATE INDEX ix_webhook_streams_due ON webhook_streams (next_attempt_at) WHERE pending_through > delivered_through',
    );
    await queryRunner.query(`
      CREATE TABLE webhook_deliveries (
        id bigserial PRIMARY KEY,
        endpoint_id integer NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
        event_id integer NOT NULL,
        attempt integer NOT NULL,
        outcome varchar(16) NOT NULL,
        status_code integer,
        error varchar(500),
        duration_ms integer NOT NULL,
        attempted_at timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(
      'CREATE INDEX ix_webhook_deliveries_endpoint_id_id ON webhook_deliveries (endpoint_id, id)',
    );
    await queryRunner.query(`
      CREATE TABLE webhook_replays (
        id serial PRIMARY KEY,
        endpoint_id integer NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
        since timestamptz NOT NULL,
        after_id integer NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE webhook_replays');
    await queryRunner.query('DROP TABLE webhook_deliveries');
    await queryRunner.query('DROP TABLE webhook_streams');
    await queryRunner.query('DROP TABLE webhook_dispatch');
    await queryRunner.query('DROP TABLE webhook_endpoints');
    await queryRunner.query('DROP INDEX ix_audit_events_xid');
    await queryRunner.query('ALTER TABLE audit_events DROP COLUMN xid');
  }
}
