import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuditAction } from '../../audit/audit-event.entity';

/*
 * How delivery finds, orders and shares its work (see the migration AddWebhooks for the tables).
 *
 * Finding: the dispatcher looks at the events of the transactions with ids in
 * [horizon, xmin), where xmin is the oldest transaction still running: each of those
 * has ended, so its events are all visible now or never will be. It records, per
 * endpoint and user, the newest event id it saw (`pending_through`) and moves the
 * horizon to xmin. One instance dispatches at a time (the webhook_dispatch row lock).
 *
 * Ordering: every write of an event holds its user's row lock (the count on users)
 * from before the event's id is taken until commit, so one user's events take their
 * ids in commit order. A stream's next event is then the smallest id above
 * `delivered_through`: one that commits later can only have a larger id.
 *
 * Sharing: a stream is claimed with FOR UPDATE SKIP LOCKED and leased until
 * `lease_until`; an instance that dies mid-delivery loses the lease when it runs out,
 * and another instance sends that event again (at least once). A completion only
 * counts when the lease is still the one it was claimed with.
 */

/** The most transactions one dispatch looks at: bounds its statement whatever the backlog. */
const DISPATCH_XID_SPAN = 2000;
/** The most events of a replay worked through per dispatch. */
const REPLAY_CHUNK = 5000;
/** A dispatch reads a window of events that may be large (an import's batches): more time than a request gets. */
const DISPATCH_STATEMENT_TIMEOUT_MS = 30_000;

const DISPATCH_SQL = `
  WITH window_start AS (
    SELECT greatest(d.horizon, coalesce((SELECT min(starts_after_xid) FROM webhook_endpoints), d.horizon)) AS low,
           pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin,
           EXISTS (SELECT 1 FROM webhook_endpoints) AS subscribed
      FROM webhook_dispatch d WHERE d.id = 1
  ),
  -- With no endpoint there is nothing to look at: the horizon goes straight to xmin.
  bounds AS (
    SELECT low, CASE WHEN subscribed THEN least(xmin, low + ${DISPATCH_XID_SPAN}) ELSE xmin END AS high, subscribed
      FROM window_start
  ),
  found AS (
    SELECT e.id AS endpoint_id, a.target_user_id AS user_id, max(a.id) AS last_id
      FROM bounds b
      JOIN audit_events a ON a.xid >= b.low AND a.xid < b.high
      JOIN webhook_endpoints e ON a.xid > e.starts_after_xid AND (e.events IS NULL OR a.action = ANY (e.events))
     WHERE b.subscribed
     GROUP BY e.id, a.target_user_id
  ),
  recorded AS (
    INSERT INTO webhook_streams (endpoint_id, user_id, pending_through)
    SELECT endpoint_id, user_id, last_id FROM found
    ON CONFLICT (endpoint_id, user_id) DO UPDATE
      SET pending_through = greatest(webhook_streams.pending_through, excluded.pending_through)
    RETURNING 1
  )
  UPDATE webhook_dispatch SET horizon = greatest((SELECT high FROM bounds), horizon)
   WHERE id = 1
  RETURNING (SELECT count(*) FROM recorded)::integer AS streams,
            (SELECT b.high < w.xmin FROM bounds b, window_start w) AS behind,
            (SELECT subscribed FROM bounds) AS subscribed,
            EXISTS (SELECT 1 FROM webhook_replays) AS replaying`;

const REPLAY_CHUNK_SQL = `
  WITH replay AS (SELECT r.id, r.endpoint_id, r.since, r.after_id, e.events
                    FROM webhook_replays r JOIN webhook_endpoints e ON e.id = r.endpoint_id
                   ORDER BY r.id LIMIT 1),
  chunk AS (
    SELECT a.id, a.target_user_id, a.occurred_at >= r.since AND (r.events IS NULL OR a.action = ANY (r.events)) AS wanted
      FROM replay r JOIN LATERAL (
        SELECT id, target_user_id, occurred_at, action FROM audit_events
         WHERE id > r.after_id ORDER BY id LIMIT ${REPLAY_CHUNK}) a ON true
  ),
  queued AS (
    INSERT INTO webhook_streams (endpoint_id, user_id, delivered_through, pending_through, replay_through)
    SELECT (SELECT endpoint_id FROM replay), target_user_id, min(id) - 1, max(id), max(id)
      FROM chunk WHERE wanted GROUP BY target_user_id
    ON CONFLICT (endpoint_id, user_id) DO UPDATE
      SET delivered_through = least(webhook_streams.delivered_through, excluded.delivered_through),
          pending_through = greatest(webhook_streams.pending_through, excluded.pending_through),
          replay_through = greatest(webhook_streams.replay_through, excluded.replay_through),
          attempts = 0, first_failed_at = NULL, next_attempt_at = now()
    RETURNING 1
  ),
  advanced AS (
    UPDATE webhook_replays SET after_id = (SELECT max(id) FROM chunk)
     WHERE id = (SELECT id FROM replay) AND (SELECT count(*) FROM chunk) = ${REPLAY_CHUNK}
    RETURNING id
  ),
  finished AS (
    DELETE FROM webhook_replays
     WHERE id = (SELECT id FROM replay) AND (SELECT count(*) FROM chunk) < ${REPLAY_CHUNK}
    RETURNING id
  )
  SELECT (SELECT count(*) FROM replay)::integer AS replays, (SELECT count(*) FROM advanced)::integer AS more`;

/** A claimed stream with the event to send next (none: nothing of the endpoint's types is left). */
export interface ClaimedStream {
  endpoint_id: number;
  user_id: number;
  delivered_through: number;
  pending_through: number;
  attempts: number;
  first_failed_at: Date | null;
  lease_until: Date;
  url: string;
  secret: string;
  event_id: number | null;
  action: AuditAction | null;
  occurred_at: Date | null;
  actor_user_id: number | null;
  provider: string | null;
  ext_id: string | null;
  request_id: string | null;
}

/**
 * The streams of the CTE `streams` (rows of webhook_streams), with their endpoint and
 * the event each sends next: the smallest id past `delivered_through`, up to
 * `pending_through`, of the endpoint's types, and of a transaction after its
 * registration unless a replay asked for it.
 */
function withNextEvent(streams: string): string {
  return `
  SELECT c.endpoint_id, c.user_id, c.delivered_through, c.pending_through, c.attempts, c.first_failed_at,
         c.lease_until, e.url, e.secret,
         a.id AS event_id, a.action, a.occurred_at, a.actor_user_id, a.provider, a.ext_id, a.request_id
    FROM ${streams} c
    JOIN webhook_endpoints e ON e.id = c.endpoint_id
    LEFT JOIN LATERAL (
      SELECT id, action, occurred_at, actor_user_id, provider, ext_id, request_id FROM audit_events
       WHERE target_user_id = c.user_id AND id > c.delivered_through AND id <= c.pending_through
         AND (e.events IS NULL OR action = ANY (e.events))
         AND (xid > e.starts_after_xid OR id <= c.replay_through)
       ORDER BY id LIMIT 1
    ) a ON true`;
}

/** A lease in whole milliseconds: it comes back to compare with, through a JavaScript Date. */
const leaseFor = (param: string): string =>
  `date_trunc('milliseconds', clock_timestamp() + ${param} * interval '1 millisecond')`;

const CLAIM_SQL = `
  WITH due AS (
    SELECT s.endpoint_id, s.user_id, s.next_attempt_at
      FROM webhook_streams s JOIN webhook_endpoints e ON e.id = s.endpoint_id
     WHERE s.pending_through > s.delivered_through AND s.next_attempt_at <= now()
       AND (s.lease_until IS NULL OR s.lease_until < now())
       AND NOT e.disabled AND s.endpoint_id <> ALL ($3::integer[])
     ORDER BY s.next_attempt_at LIMIT 500
  ),
  fair AS (
    SELECT endpoint_id, user_id, next_attempt_at,
           row_number() OVER (PARTITION BY endpoint_id ORDER BY next_attempt_at) AS turn
      FROM due
  ),
  picked AS (
    SELECT s.endpoint_id, s.user_id
      FROM webhook_streams s JOIN fair f ON f.endpoint_id = s.endpoint_id AND f.user_id = s.user_id
     WHERE f.turn <= $2 AND (s.lease_until IS NULL OR s.lease_until < now())
     ORDER BY f.next_attempt_at LIMIT $1
       FOR UPDATE OF s SKIP LOCKED
  ),
  claimed AS (
    UPDATE webhook_streams s SET lease_until = ${leaseFor('$4')}
      FROM picked p WHERE s.endpoint_id = p.endpoint_id AND s.user_id = p.user_id
    RETURNING s.*
  )
  ${withNextEvent('claimed')}`;

/** The stream's lease must still be the claim's ($3). */
const STREAM_KEY = 'endpoint_id = $1 AND user_id = $2 AND lease_until = $3';
/** `delivered_through` moves from the claim's value ($4) to $5, unless a replay moved it meanwhile. */
const MOVE_PAST = 'delivered_through = CASE WHEN delivered_through = $4 THEN $5 ELSE delivered_through END';

const SKIP_SQL = `
  UPDATE webhook_streams
     SET ${MOVE_PAST}, lease_until = NULL
   WHERE ${STREAM_KEY}`;

/** The stream moves past event $5 (given up) and is free for its next one. */
const MOVED_PAST_EVENT = `
  moved AS (
    UPDATE webhook_streams
       SET ${MOVE_PAST},
           attempts = 0, first_failed_at = NULL, next_attempt_at = now(), lease_until = NULL
     WHERE ${STREAM_KEY}
    RETURNING endpoint_id
  )`;

/** Delivered: the stream moves past the event and keeps its lease, renewed ($9 ms), for its next event. */
const DELIVERED_SQL = `
  WITH moved AS (
    UPDATE webhook_streams
       SET ${MOVE_PAST},
           attempts = 0, first_failed_at = NULL, next_attempt_at = now(), lease_until = ${leaseFor('$9')}
     WHERE ${STREAM_KEY}
    RETURNING *
  ), logged AS (
    INSERT INTO webhook_deliveries (endpoint_id, event_id, attempt, outcome, status_code, duration_ms)
    SELECT endpoint_id, $5, $6, 'delivered', $7, $8 FROM moved
  )
  ${withNextEvent('moved')}`;

const FAILED_SQL = `
  WITH moved AS (
    UPDATE webhook_streams
       SET attempts = attempts + 1, first_failed_at = coalesce(first_failed_at, $8::timestamptz),
           next_attempt_at = now() + $9 * interval '1 millisecond', lease_until = NULL
     WHERE ${STREAM_KEY}
    RETURNING endpoint_id
  )
  INSERT INTO webhook_deliveries (endpoint_id, event_id, attempt, outcome, status_code, error, duration_ms)
  SELECT endpoint_id, $4, $5, 'failed', $6, $10, $7 FROM moved`;

const GIVEN_UP_SQL = `
  WITH ${MOVED_PAST_EVENT},
  disabled AS (
    UPDATE webhook_endpoints SET disabled = true, disabled_at = now(), disabled_reason = $9
     WHERE id IN (SELECT endpoint_id FROM moved) AND NOT disabled
  )
  INSERT INTO webhook_deliveries (endpoint_id, event_id, attempt, outcome, status_code, error, duration_ms)
  SELECT endpoint_id, $5, $6, 'given_up', $7, $10, $8 FROM moved`;

/** How long the delivery log keeps an attempt. */
export const DELIVERY_LOG_DAYS = 30;
/** The most attempts one prune looks at: the oldest, by id (ids grow with time). */
const PRUNE_CHUNK = 5000;

const PRUNE_SQL = `
  DELETE FROM webhook_deliveries
   WHERE id <= (SELECT max(id) FROM (SELECT id FROM webhook_deliveries ORDER BY id LIMIT ${PRUNE_CHUNK}) oldest)
     AND attempted_at < now() - interval '${DELIVERY_LOG_DAYS} days'`;

/** What one attempt gave, to record. */
export interface AttemptRecord {
  eventId: number;
  attempt: number;
  statusCode: number | null;
  durationMs: number;
}

/** The statements of the delivery loop. Each is one round trip; none holds a lock past its own statement. */
@Injectable()
export class DeliveryRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Records the streams of the transactions that ended since the last dispatch, and
   * works one chunk of a replay. Nothing when another instance is dispatching.
   * Says whether any endpoint exists, and whether work remains to dispatch (a long
   * replay, or a backlog past one window). When another instance holds the
   * dispatch, it counts as subscribed: that instance found something to do.
   */
  async dispatch(): Promise<{ subscribed: boolean; more: boolean }> {
    return this.dataSource.transaction(async (manager) => {
      const locked: unknown[] = await manager.query(
        'SELECT horizon FROM webhook_dispatch WHERE id = 1 FOR UPDATE SKIP LOCKED',
      );
      if (locked.length === 0) return { subscribed: true, more: false };
      await manager.query(`SET LOCAL statement_timeout = ${DISPATCH_STATEMENT_TIMEOUT_MS}`);
      const [[dispatched]]: [{ behind: boolean; subscribed: boolean; replaying: boolean }[], number] =
        await manager.query(DISPATCH_SQL);
      if (!dispatched.subscribed) return { subscribed: false, more: false };
      if (!dispatched.replaying) return { subscribed: true, more: dispatched.behind };
      const [replayed]: { more: number }[] = await manager.query(REPLAY_CHUNK_SQL);
      return { subscribed: true, more: dispatched.behind || replayed.more > 0 };
    });
  }

  /**
   * Leases up to `limit` due streams, at most `perEndpoint` of one endpoint, none of
   * the endpoints in `busyEndpoints`, for `leaseMs`.
   */
  claim(
    limit: number,
    perEndpoint: number,
    busyEndpoints: readonly number[],
    leaseMs: number,
  ): Promise<ClaimedStream[]> {
    return this.dataSource.query(CLAIM_SQL, [limit, perEndpoint, busyEndpoints, leaseMs]);
  }

  /** Nothing of the endpoint's event types is left in the stream: it is done through `pending_through`. */
  async skip(stream: ClaimedStream): Promise<void> {
    await this.dataSource.query(SKIP_SQL, [...key(stream), stream.delivered_through, stream.pending_through]);
  }

  /**
   * Records a delivery and renews the lease for `leaseMs`: the stream as it is now, with its
   * next event (none left: event_id null), or null when the lease was lost meanwhile.
   */
  async delivered(stream: ClaimedStream, attempt: AttemptRecord, leaseMs: number): Promise<ClaimedStream | null> {
    const [next]: ClaimedStream[] = await this.dataSource.query(DELIVERED_SQL, [
      ...key(stream),
      ...attemptParams(stream, attempt),
      leaseMs,
    ]);
    return next ?? null;
  }

  /** A failed attempt: the same event is tried again `retryInMs` from now. */
  async failed(
    stream: ClaimedStream,
    attempt: AttemptRecord,
    error: string,
    failedAt: Date,
    retryInMs: number,
  ): Promise<void> {
    // No delivered_through here: the stream stays at the event.
    await this.dataSource.query(FAILED_SQL, [
      ...key(stream),
      ...attemptParams(stream, attempt).slice(1),
      failedAt,
      retryInMs,
      error,
    ]);
  }

  /** The event failed for the whole retry period: the stream moves past it and the endpoint is disabled. */
  async givenUp(stream: ClaimedStream, attempt: AttemptRecord, error: string, reason: string): Promise<void> {
    await this.dataSource.query(GIVEN_UP_SQL, [...key(stream), ...attemptParams(stream, attempt), reason, error]);
  }

  /** Deletes the oldest attempts past DELIVERY_LOG_DAYS, a chunk at a time; returns how many went. */
  async pruneDeliveries(): Promise<number> {
    const [, deleted]: [unknown, number] = await this.dataSource.query(PRUNE_SQL);
    return deleted;
  }

  /** Gives a claimed stream back untouched (shutdown): the next claim sends its event again. */
  async release(stream: ClaimedStream): Promise<void> {
    await this.dataSource.query(`UPDATE webhook_streams SET lease_until = NULL WHERE ${STREAM_KEY}`, key(stream));
  }
}

function key(stream: ClaimedStream): unknown[] {
  return [stream.endpoint_id, stream.user_id, stream.lease_until];
}

/** $4..$8 of the completion statements. */
function attemptParams(stream: ClaimedStream, attempt: AttemptRecord): unknown[] {
  return [stream.delivered_through, attempt.eventId, attempt.attempt, attempt.statusCode, attempt.durationMs];
}
