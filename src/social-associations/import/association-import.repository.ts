import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { bulkAuditParams, BulkAuditRecord, insertAuditEventsForEachRowSql } from '../../audit/audit-events.repository';

/** One valid line of an import, ready to be stored. */
export interface ImportRow {
  line: number;
  userId: number;
  provider: string;
  extId: string;
  profileUrl: string | null;
  /** The serialized JSON object, as the API stores it. */
  metadata: string | null;
  showInProfile: boolean;
  /** ISO-8601 with a zone; null: now. */
  createdAt: string | null;
}

/** What is stored for an identity: the fields a line is compared with. */
export type StoredAssociation = Pick<ImportRow, 'userId' | 'profileUrl' | 'metadata' | 'showInProfile'>;

/** What became of a line of a batch; a line the result does not name was created. */
export type RowOutcome =
  | { line: number; outcome: 'unchanged' | 'not_found' | 'too_many_associations' | 'raced' }
  | { line: number; outcome: 'already_linked' | 'differs'; stored: StoredAssociation };

interface OutcomeSqlRow {
  line: number;
  outcome: RowOutcome['outcome'];
  stored_user_id: number | null;
  stored_profile_url: string | null;
  stored_metadata: string | null;
  stored_show_in_profile: boolean | null;
}

/*
 * A batch is one statement that classifies every line against what is stored and
 * writes the new ones, with their count on users and their audit events (a
 * data-modifying CTE per table): a batch is in or out as a whole. The lines come
 * as arrays, one per column ($1..$8), unnested into rows; $9 is the per-user cap.
 *
 * The lines of one batch name distinct identities (the service sends later
 * repeats of an identity after the first one's outcome is known). A line is:
 * - `unchanged`: its identity is stored, for the same user, with the same fields;
 * - `already_linked`: stored for another user; `differs`: for the same user, other fields;
 * - `not_found`: its user does not exist (decided first, as the API does);
 * - `too_many_associations`: new, but its user would hold more than the cap
 *   (the user's new lines count in line order, after what they hold already);
 * - `raced`: new when classified, taken by someone else before its INSERT;
 * - created: new and within the cap (the result leaves these out: an import's
 *   common case returns no rows).
 */

const INPUT_SQL = `
  SELECT * FROM unnest($1::integer[], $2::integer[], $3::text[], $4::text[], $5::text[], $6::text[], $7::boolean[],
                       $8::timestamptz[])
    AS input (line, user_id, provider, ext_id, profile_url, metadata, show_in_profile, created_at)`;

/**
 * The classification, over the users and stored associations that `users` and
 * `stored` give (LATERAL subqueries on the input row `i`).
 */
function classifySql(users: string, stored: string): string {
  return `
  input AS (${INPUT_SQL}),
  classified AS (
    SELECT i.*, u.association_count,
           s.user_id AS stored_user_id, s.profile_url AS stored_profile_url,
           s.metadata AS stored_metadata, s.show_in_profile AS stored_show_in_profile,
           CASE
             WHEN u.id IS NULL THEN 'not_found'
             WHEN s.user_id IS NULL THEN 'new'
             WHEN s.user_id <> i.user_id THEN 'already_linked'
             WHEN s.profile_url IS DISTINCT FROM i.profile_url OR s.show_in_profile <> i.show_in_profile
               OR s.metadata IS DISTINCT FROM i.metadata THEN 'differs'
             ELSE 'unchanged'
           END AS outcome
      FROM input i
      -- OFFSET 0 keeps each an index lookup per line: flattened into a join, the planner may
      -- scan the whole table for every batch (the statistics lag behind a growing import).
      LEFT JOIN LATERAL (${users} OFFSET 0) u ON true
      LEFT JOIN LATERAL (${stored} OFFSET 0) s ON true
  ),
  ranked AS (
    SELECT c.*, c.association_count + row_number() OVER (PARTITION BY c.user_id ORDER BY c.line) AS would_hold
      FROM classified c
     WHERE c.outcome = 'new'
  ),
  admitted AS (SELECT * FROM ranked WHERE would_hold <= $9)`;
}

/** The lines that were not created, from `classified`, `ranked` and `inserted`. */
const OUTCOMES_SQL = `
  SELECT * FROM (
    SELECT c.line,
           CASE WHEN c.outcome <> 'new' THEN c.outcome
                WHEN r.would_hold > $9 THEN 'too_many_associations'
                WHEN ins.ext_id IS NULL THEN 'raced'
                ELSE 'created' END AS outcome,
           c.stored_user_id, c.stored_profile_url, c.stored_metadata, c.stored_show_in_profile
      FROM classified c
      LEFT JOIN ranked r ON r.line = c.line
      LEFT JOIN inserted ins ON ins.provider = c.provider AND ins.ext_id = c.ext_id
  ) o
  WHERE o.outcome <> 'created'`;

/** The users of the batch, locked in id order (no deadlock between two imports): their counts hold still. */
export const LOCK_USERS_SQL = 'SELECT id FROM users WHERE id = ANY($1::integer[]) ORDER BY id FOR UPDATE';

export const IMPORT_BATCH_SQL = `
  WITH ${classifySql(
    'SELECT id, association_count FROM users WHERE id = i.user_id',
    'SELECT user_id, profile_url, metadata, show_in_profile FROM social_associations WHERE provider = i.provider AND ext_id = i.ext_id',
  )},
  inserted AS (
    INSERT INTO social_associations (user_id, provider, ext_id, profile_url, metadata, show_in_profile, created_at)
    SELECT user_id, provider, ext_id, profile_url, metadata, show_in_profile, COALESCE(created_at, now()) FROM admitted
     ORDER BY line -- ids in file order
    ON CONFLICT (provider, ext_id) DO NOTHING
    RETURNING user_id, provider, ext_id
  ),
  counted AS (
    UPDATE users u SET association_count = u.association_count + added.n
      FROM (SELECT user_id, count(*)::integer AS n FROM inserted GROUP BY user_id) added
     WHERE u.id = added.user_id
  ),
  audited AS (
    ${insertAuditEventsForEachRowSql('inserted', 10)}
  )
  ${OUTCOMES_SQL}`;

/**
 * A dry run's transaction keeps what it would have created in a temporary table
 * (dropped at its end): later batches see those rows as stored, and count them
 * against the cap, exactly as they would see the rows of a real run. Nothing
 * else is written, and no row of a real table is locked.
 */
export const CREATE_DRY_RUN_TABLE_SQL = `
  CREATE TEMPORARY TABLE import_dry_run (
    user_id integer NOT NULL,
    provider text NOT NULL,
    ext_id text NOT NULL,
    profile_url text,
    metadata text,
    show_in_profile boolean NOT NULL,
    PRIMARY KEY (provider, ext_id)
  ) ON COMMIT DROP`;
export const INDEX_DRY_RUN_TABLE_SQL = 'CREATE INDEX ON import_dry_run (user_id)';

export const DRY_RUN_BATCH_SQL = `
  WITH ${classifySql(
    `SELECT id, association_count + (SELECT count(*) FROM import_dry_run d WHERE d.user_id = users.id)::integer
              AS association_count
       FROM users WHERE id = i.user_id`,
    `(SELECT user_id, profile_url, metadata, show_in_profile FROM social_associations
       WHERE provider = i.provider AND ext_id = i.ext_id
      UNION ALL
      SELECT user_id, profile_url, metadata, show_in_profile FROM import_dry_run
       WHERE provider = i.provider AND ext_id = i.ext_id)
     LIMIT 1`,
  )},
  inserted AS (
    INSERT INTO import_dry_run (user_id, provider, ext_id, profile_url, metadata, show_in_profile)
    SELECT user_id, provider, ext_id, profile_url, metadata, show_in_profile FROM admitted
    ON CONFLICT (provider, ext_id) DO NOTHING
    RETURNING user_id, provider, ext_id
  )
  ${OUTCOMES_SQL}`;

function batchParams(rows: readonly ImportRow[], maxPerUser: number): unknown[] {
  const n = rows.length;
  const columns = {
    line: new Array<number>(n),
    userId: new Array<number>(n),
    provider: new Array<string>(n),
    extId: new Array<string>(n),
    profileUrl: new Array<string | null>(n),
    metadata: new Array<string | null>(n),
    showInProfile: new Array<boolean>(n),
    createdAt: new Array<string | null>(n),
  };
  for (let i = 0; i < n; i++) {
    const row = rows[i];
    columns.line[i] = row.line;
    columns.userId[i] = row.userId;
    columns.provider[i] = row.provider;
    columns.extId[i] = row.extId;
    columns.profileUrl[i] = row.profileUrl;
    columns.metadata[i] = row.metadata;
    columns.showInProfile[i] = row.showInProfile;
    columns.createdAt[i] = row.createdAt;
  }
  return [
    columns.line,
    columns.userId,
    columns.provider,
    columns.extId,
    columns.profileUrl,
    columns.metadata,
    columns.showInProfile,
    columns.createdAt,
    maxPerUser,
  ];
}

function toOutcome(row: OutcomeSqlRow): RowOutcome {
  const stored = (): StoredAssociation => ({
    userId: row.stored_user_id!,
    profileUrl: row.stored_profile_url,
    metadata: row.stored_metadata,
    showInProfile: row.stored_show_in_profile!,
  });
  return row.outcome === 'already_linked' || row.outcome === 'differs'
    ? { line: row.line, outcome: row.outcome, stored: stored() }
    : { line: row.line, outcome: row.outcome };
}

/** The bulk import's statements on `social_associations` (and, in the same statement, `users` and `audit_events`). */
@Injectable()
export class AssociationImportRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** PostgreSQL's estimate of the rows of social_associations, as of its last ANALYZE (0 if never). */
  async estimatedRows(): Promise<number> {
    const [row]: { rows: number }[] = await this.dataSource.query(
      `SELECT greatest(reltuples, 0)::float8 AS rows FROM pg_class WHERE oid = 'social_associations'::regclass`,
    );
    return row.rows;
  }

  /** Refreshes the planner's statistics of social_associations (a sample: bounded time whatever the size). */
  async analyze(): Promise<void> {
    await this.dataSource.query('ANALYZE social_associations');
  }

  /**
   * Stores one batch in the caller's transaction: locks its users, then
   * classifies and writes it in one statement. The lines must name distinct identities.
   */
  async importBatch(
    manager: EntityManager,
    rows: readonly ImportRow[],
    maxPerUser: number,
    audit: BulkAuditRecord,
  ): Promise<RowOutcome[]> {
    const userIds = [...new Set(rows.map((row) => row.userId))];
    await manager.query(LOCK_USERS_SQL, [userIds]);
    const result: OutcomeSqlRow[] = await manager.query(IMPORT_BATCH_SQL, [
      ...batchParams(rows, maxPerUser),
      ...bulkAuditParams(audit),
    ]);
    return result.map(toOutcome);
  }

  /** Prepares the caller's transaction for dryRunBatch. */
  async startDryRun(manager: EntityManager): Promise<void> {
    await manager.query(CREATE_DRY_RUN_TABLE_SQL);
    await manager.query(INDEX_DRY_RUN_TABLE_SQL);
  }

  /** What importBatch would do, given the batches before it in the same dry run; writes no real table. */
  async dryRunBatch(manager: EntityManager, rows: readonly ImportRow[], maxPerUser: number): Promise<RowOutcome[]> {
    const result: OutcomeSqlRow[] = await manager.query(DRY_RUN_BATCH_SQL, batchParams(rows, maxPerUser));
    return result.map(toOutcome);
  }
}
