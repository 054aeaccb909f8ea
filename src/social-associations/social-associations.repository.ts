import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { AuditRecord } from '../audit/audit.service';
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
 * The hot statements: one round trip per decision. A write and its audit row are
 * one statement (a data-modifying CTE), so they commit together without
 * BEGIN/COMMIT round trips. Their plans are checked against the indexes by
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

export const INSERT_AUDITED_SQL = `
  WITH inserted AS (
    INSERT INTO social_associations (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)
    RETURNING ${COLUMNS}
  ), audited AS (
    INSERT INTO audit_events (actor_user_id, action, target_user_id, provider, ext_id, request_id)
    SELECT $7, 'social_association.created', user_id, provider, ext_id, $8 FROM inserted
  )
  SELECT ${COLUMNS} FROM inserted`;

export const DELETE_AUDITED_SQL = `
  WITH deleted AS (
    DELETE FROM social_associations WHERE user_id = $1 AND provider = $2 AND ext_id = $3
    RETURNING user_id, provider, ext_id
  )
  INSERT INTO audit_events (actor_user_id, action, target_user_id, provider, ext_id, request_id)
  SELECT $4, 'social_association.deleted', user_id, provider, ext_id, $5 FROM deleted`;

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
   * Inserts the association and its audit event atomically. A taken
   * (provider, ext_id) surfaces as the unique index's violation, a vanished
   * user as the foreign key's.
   */
  async insertAudited(association: NewSocialAssociation, audit: AuditRecord): Promise<AssociationRow> {
    const { rows } = await this.prepared.query<AssociationSqlRow>('sa_insert_audited', INSERT_AUDITED_SQL, [
      association.userId,
      association.provider,
      association.extId,
      association.profileUrl,
      association.metadata,
      association.showInProfile,
      audit.actorUserId,
      audit.requestId,
    ]);
    return fromSql(rows[0]);
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
      audit.actorUserId,
      audit.requestId,
    ]);
    return rowCount > 0;
  }

  /** The plain delete, inside a transaction the caller holds (the lock-out path). */
  async deleteForUser(manager: EntityManager, userId: number, provider: string, extId: string): Promise<boolean> {
    const result = await manager.delete(SocialAssociation, { userId, provider, extId });
    return (result.affected ?? 0) > 0;
  }

  countForUser(manager: EntityManager, userId: number): Promise<number> {
    return manager.countBy(SocialAssociation, { userId });
  }
}
