import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { auditRecordParams, AuditRecord, insertAuditEventSql } from '../audit/audit-events.repository';
import { PreparedStatements } from '../database/prepared-statements';
import { SocialAssociation } from './social-association.entity';

export type NewSocialAssociation = Pick<
  SocialAssociation,
  'userId' | 'provider' | 'extId' | 'profileUrl' | 'metadata' | 'showInProfile'
>;

/** What the API shows of an association (the mapper's input). */
export type AssociationRow = NewSocialAssociation;

interface AssociationSqlRow {
  user_id: number;
  provider: string;
  ext_id: string;
  profile_url: string | null;
  metadata: string | null;
  show_in_profile: boolean;
}

const fromSql = (row: AssociationSqlRow): AssociationRow => ({
  userId: row.user_id,
  provider: row.provider,
  extId: row.ext_id,
  profileUrl: row.profile_url,
  metadata: row.metadata,
  showInProfile: row.show_in_profile,
});

/*
 * The hot statements: one round trip per decision. A write and its audit event are
 * one statement (a data-modifying CTE ending in the audit repository's INSERT), so
 * they commit together without BEGIN/COMMIT round trips. Their plans are checked against the indexes by
 * test/e2e/query-plans.pg.e2e-spec.ts.
 */
const COLUMNS = 'user_id, provider, ext_id, profile_url, metadata, show_in_profile';

/** No row: the user does not exist. One row with provider null: no (visible) association. */
export const LIST_FOR_USER_SQL = `
  SELECT sa.user_id, sa.provider, sa.ext_id, sa.profile_url, sa.metadata, sa.show_in_profile
  FROM users u
  LEFT JOIN social_associations sa ON sa.user_id = u.id AND (sa.show_in_profile OR NOT $2::boolean)
  WHERE u.id = $1
  ORDER BY sa.id`;

/** The caller's own list: the caller's row was read moments ago to authenticate, so no existence check. */
export const LIST_OWN_SQL = `SELECT ${COLUMNS} FROM social_associations WHERE user_id = $1 ORDER BY id`;

/**
 * The user's count goes up first, only while under the cap ($7): the UPDATE takes
 * the user's row lock and re-reads the count once it has it, so concurrent creates
 * for one user pass the cap one at a time. No row: the user is missing or full.
 */
export const INSERT_AUDITED_SQL = `
  WITH slot AS (
    UPDATE users SET association_count = association_count + 1
     WHERE id = $1 AND association_count < $7
    RETURNING id
  ), inserted AS (
    INSERT INTO social_associations (${COLUMNS}) SELECT id, $2, $3, $4, $5, $6 FROM slot
    RETURNING ${COLUMNS}
  ), audited AS (
    ${insertAuditEventSql(8, 'inserted')}
  )
  SELECT ${COLUMNS} FROM inserted`;

/*
 * The event is written from the join with `counted`, so only once the user's row is
 * locked: a user's events then take their ids (and commit) in the order their
 * changes hold that lock, which webhook delivery relies on (per user, id order is
 * commit order). Unjoined, the event's INSERT ran before the UPDATE waited for the lock.
 */
export const DELETE_AUDITED_SQL = `
  WITH deleted AS (
    DELETE FROM social_associations WHERE user_id = $1 AND provider = $2 AND ext_id = $3
    RETURNING user_id, provider, ext_id
  ), counted AS (
    UPDATE users SET association_count = GREATEST(association_count - 1, 0) WHERE id IN (SELECT user_id FROM deleted)
    RETURNING id
  )
  ${insertAuditEventSql(4, 'deleted JOIN counted ON counted.id = deleted.user_id')}`;

/** The plain delete of the lock-out path: the user's count afterwards, or no row when nothing was deleted. */
export const DELETE_COUNTED_SQL = `
  WITH deleted AS (
    DELETE FROM social_associations WHERE user_id = $1 AND provider = $2 AND ext_id = $3 RETURNING user_id
  )
  UPDATE users SET association_count = GREATEST(association_count - 1, 0)
   WHERE id IN (SELECT user_id FROM deleted)
  RETURNING association_count`;

export const FIND_BY_IDENTITY_SQL = `SELECT ${COLUMNS} FROM social_associations WHERE provider = $1 AND ext_id = $2`;

/** The admin search's filters; they combine with AND (see AddSocialAssociationsSearchIndexes for their indexes). */
export interface AssociationFilter {
  provider?: string;
  userId?: number;
  extId?: string;
  extIdPrefix?: string;
  /** Inclusive; ISO-8601 with a zone as the client gave it (PostgreSQL reads it, to the microsecond). */
  createdSince?: string;
  /** Exclusive; as createdSince. */
  createdUntil?: string;
}

/** Where a page of the newest-first search starts: just after this row. */
export interface SearchPosition {
  /** The row's created_at as SEARCH_COLUMNS formats it (UTC, microseconds). */
  createdAt: string;
  id: number;
}

/** A row of the admin search: the association, its id (for the cursor) and when it was linked. */
export type SearchedAssociationRow = AssociationRow & SearchPosition;

interface SearchedAssociationSqlRow extends AssociationSqlRow {
  id: number;
  created_at: string;
}

const SEARCH_COLUMNS = `id, ${COLUMNS}, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at`;

const fromSearchSql = (row: SearchedAssociationSqlRow): SearchedAssociationRow => ({
  ...fromSql(row),
  id: row.id,
  createdAt: row.created_at,
});

/**
 * The smallest string greater than every string that starts with `prefix`, in the
 * "C" collation (UTF-8 bytes, which order as code points): the prefix with its last
 * code point incremented. Undefined when there is none (a last code point of U+10FFFF).
 */
export function prefixUpperBound(prefix: string): string | undefined {
  const codePoints = [...prefix];
  const last = codePoints.pop()?.codePointAt(0);
  if (last === undefined || last >= 0x10ffff) return undefined;
  // The surrogate range holds no character: past it, the next one is U+E000.
  const next = last + 1 === 0xd800 ? 0xe000 : last + 1;
  return codePoints.join('') + String.fromCodePoint(next);
}

/** The WHERE clause of a search, its parameters pushed into `params`. */
function searchConditions(filter: AssociationFilter, params: unknown[], after?: SearchPosition): string {
  const param = (value: unknown): string => {
    params.push(value);
    return `$${params.length}`;
  };
  const where: string[] = [];
  if (filter.provider !== undefined) where.push(`provider = ${param(filter.provider)}`);
  if (filter.userId !== undefined) where.push(`user_id = ${param(filter.userId)}`);
  if (filter.extId !== undefined) {
    // With a provider, the unique (provider, ext_id) index; without, the "C" one.
    where.push(
      filter.provider !== undefined
        ? `ext_id = ${param(filter.extId)}`
        : `(ext_id COLLATE "C") = ${param(filter.extId)}`,
    );
  }
  if (filter.extIdPrefix !== undefined) {
    where.push(`(ext_id COLLATE "C") >= ${param(filter.extIdPrefix)}`);
    const upper = prefixUpperBound(filter.extIdPrefix);
    if (upper !== undefined) where.push(`(ext_id COLLATE "C") < ${param(upper)}`);
  }
  if (filter.createdSince !== undefined) where.push(`created_at >= ${param(filter.createdSince)}::timestamptz`);
  if (filter.createdUntil !== undefined) where.push(`created_at < ${param(filter.createdUntil)}::timestamptz`);
  if (after !== undefined) {
    where.push(`(created_at, id) < (${param(after.createdAt)}::timestamptz, ${param(after.id)})`);
  }
  return where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
}

/** The admin search, newest first; its plan for each filter is checked by query-plans.pg.e2e-spec.ts. */
export function searchSql(filter: AssociationFilter, limit: number, after?: SearchPosition): [string, unknown[]] {
  const params: unknown[] = [];
  const where = searchConditions(filter, params, after);
  params.push(limit);
  return [
    // Qualified: a bare created_at in ORDER BY would name the formatted output column.
    `SELECT ${SEARCH_COLUMNS} FROM social_associations sa ${where} ORDER BY sa.created_at DESC, sa.id DESC LIMIT $${params.length}`,
    params,
  ];
}

/** Rows an export reads per FETCH: enough to keep a round trip per ~100 KB of output, few enough to hold little. */
const EXPORT_BATCH_ROWS = 1000;

/** Associations by provider: exact, one pass over the table or one of its indexes. */
export const COUNT_BY_PROVIDER_SQL =
  'SELECT provider, count(*)::integer AS count FROM social_associations GROUP BY provider ORDER BY provider';

/** Every query on `social_associations`. */
@Injectable()
export class SocialAssociationsRepository {
  constructor(
    private readonly prepared: PreparedStatements,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  /** The user's associations, oldest first; null when the user does not exist. */
  async listForUser(userId: number, onlyPublic: boolean): Promise<AssociationRow[] | null> {
    const { rows } = await this.prepared.query<AssociationSqlRow>('sa_list_for_user', LIST_FOR_USER_SQL, [
      userId,
      onlyPublic,
    ]);
    if (rows.length === 0) return null;
    return rows.filter((row) => row.provider !== null).map(fromSql);
  }

  /** Every association of a user known to exist (the authenticated caller): one index range, no join. */
  async listOwn(userId: number): Promise<AssociationRow[]> {
    const { rows } = await this.prepared.query<AssociationSqlRow>('sa_list_own', LIST_OWN_SQL, [userId]);
    return rows.map(fromSql);
  }

  /** A page of the admin search, newest first: `limit` rows after `after` (or from the newest). */
  async search(filter: AssociationFilter, limit: number, after?: SearchPosition): Promise<SearchedAssociationRow[]> {
    const [sql, params] = searchSql(filter, limit, after);
    const rows: SearchedAssociationSqlRow[] = await this.dataSource.query(sql, params);
    return rows.map(fromSearchSql);
  }

  /**
   * Every row the filter matches, newest first, in batches, all from one snapshot
   * (a REPEATABLE READ, READ ONLY transaction reading through a cursor): rows
   * changed while the export runs are seen as they were when it started. It holds
   * one pooled connection until the caller stops iterating (or breaks off: the
   * transaction is then rolled back and the connection released).
   */
  async *exportBatches(filter: AssociationFilter): AsyncGenerator<SearchedAssociationRow[]> {
    const params: unknown[] = [];
    const where = searchConditions(filter, params);
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      await runner.query('START TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY');
      await runner.query(
        `DECLARE association_export NO SCROLL CURSOR FOR
           SELECT ${SEARCH_COLUMNS} FROM social_associations sa ${where} ORDER BY sa.created_at DESC, sa.id DESC`,
        params,
      );
      for (;;) {
        const rows = (await runner.query(
          `FETCH ${EXPORT_BATCH_ROWS} FROM association_export`,
        )) as SearchedAssociationSqlRow[];
        if (rows.length === 0) break;
        yield rows.map(fromSearchSql);
        if (rows.length < EXPORT_BATCH_ROWS) break;
      }
    } finally {
      // Read only: nothing to commit, and a rollback also ends a transaction an error left open.
      await runner.query('ROLLBACK').catch(() => undefined);
      await runner.release();
    }
  }

  /** How many associations each provider has (providers with none are absent). */
  async countByProvider(): Promise<{ provider: string; count: number }[]> {
    return this.dataSource.query(COUNT_BY_PROVIDER_SQL);
  }

  async findByIdentity(provider: string, extId: string): Promise<AssociationRow | null> {
    const { rows } = await this.prepared.query<AssociationSqlRow>('sa_find_by_identity', FIND_BY_IDENTITY_SQL, [
      provider,
      extId,
    ]);
    return rows[0] ? fromSql(rows[0]) : null;
  }

  /**
   * Inserts the association and its audit event atomically, unless the user
   * already holds `maxPerUser` (or does not exist): then null. A taken
   * (provider, ext_id) surfaces as the unique index's violation.
   */
  async insertAudited(
    association: NewSocialAssociation,
    audit: AuditRecord,
    maxPerUser: number,
  ): Promise<AssociationRow | null> {
    const { rows } = await this.prepared.query<AssociationSqlRow>('sa_insert_audited', INSERT_AUDITED_SQL, [
      association.userId,
      association.provider,
      association.extId,
      association.profileUrl,
      association.metadata,
      association.showInProfile,
      maxPerUser,
      ...auditRecordParams(audit),
    ]);
    return rows[0] ? fromSql(rows[0]) : null;
  }

  /**
   * Deletes one association of a user and writes its audit event, atomically.
   * The DELETE's affected-row count decides between "gone" and "not found", so
   * two concurrent deletes cannot both succeed.
   */
  async deleteAudited(userId: number, provider: string, extId: string, audit: AuditRecord): Promise<boolean> {
    const { rowCount } = await this.prepared.query('sa_delete_audited', DELETE_AUDITED_SQL, [
      userId,
      provider,
      extId,
      ...auditRecordParams(audit),
    ]);
    return rowCount > 0;
  }

  /**
   * The plain delete, inside a transaction the caller holds (the lock-out path):
   * how many associations the user holds afterwards, or null when there was no
   * such association.
   */
  async deleteCounted(manager: EntityManager, userId: number, provider: string, extId: string): Promise<number | null> {
    // An UPDATE's raw result through TypeORM: [rows, affected row count].
    const [rows]: [{ association_count: number }[], number] = await manager.query(DELETE_COUNTED_SQL, [
      userId,
      provider,
      extId,
    ]);
    return rows[0]?.association_count ?? null;
  }
}
