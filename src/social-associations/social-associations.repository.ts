import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
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

export const DELETE_AUDITED_SQL = `
  WITH deleted AS (
    DELETE FROM social_associations WHERE user_id = $1 AND provider = $2 AND ext_id = $3
    RETURNING user_id, provider, ext_id
  ), counted AS (
    UPDATE users SET association_count = GREATEST(association_count - 1, 0) WHERE id IN (SELECT user_id FROM deleted)
  )
  ${insertAuditEventSql(4, 'deleted')}`;

/** The plain delete of the lock-out path: the user's count afterwards, or no row when nothing was deleted. */
export const DELETE_COUNTED_SQL = `
  WITH deleted AS (
    DELETE FROM social_associations WHERE user_id = $1 AND provider = $2 AND ext_id = $3 RETURNING user_id
  )
  UPDATE users SET association_count = GREATEST(association_count - 1, 0)
   WHERE id IN (SELECT user_id FROM deleted)
  RETURNING association_count`;

export const FIND_BY_IDENTITY_SQL = `SELECT ${COLUMNS} FROM social_associations WHERE provider = $1 AND ext_id = $2`;

/** Every query on `social_associations`. */
@Injectable()
export class SocialAssociationsRepository {
  constructor(private readonly prepared: PreparedStatements) {}

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
