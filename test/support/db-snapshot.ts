import { DataSource } from 'typeorm';

export const SNAPSHOT_TABLES = ['users', 'social_associations', 'audit_events'] as const;
export type SnapshotTable = (typeof SNAPSHOT_TABLES)[number];
export type Row = Record<string, unknown>;

/** Every row of every table, by table, keyed by id, each row serialized for exact comparison. */
export type DbSnapshot = Record<SnapshotTable, Map<number, string>>;

export interface TableDiff {
  added: Row[];
  removed: Row[];
  changed: { before: Row; after: Row }[];
}
export type DbDiff = Record<SnapshotTable, TableDiff>;

/** Every row of every table, in one statement (one round trip, one consistent view). */
const SNAPSHOT_SQL = `SELECT ${SNAPSHOT_TABLES.map(
  (table) => `(SELECT coalesce(json_agg(t ORDER BY t.id), '[]') FROM ${table} t) AS ${table}`,
).join(', ')}`;

/** Reads every row of users, social_associations and audit_events (the whole state of the service). */
export async function snapshot(dataSource: DataSource): Promise<DbSnapshot> {
  const [tables] = await dataSource.query<Record<SnapshotTable, Row[]>[]>(SNAPSHOT_SQL);
  const byId = (rows: Row[]): Map<number, string> => new Map(rows.map((row) => [Number(row.id), JSON.stringify(row)]));
  return {
    users: byId(tables.users),
    social_associations: byId(tables.social_associations),
    audit_events: byId(tables.audit_events),
  };
}

export function diff(before: DbSnapshot, after: DbSnapshot): DbDiff {
  const result = {} as DbDiff;
  for (const table of SNAPSHOT_TABLES) {
    const tableDiff: TableDiff = { added: [], removed: [], changed: [] };
    for (const [id, row] of after[table]) {
      const old = before[table].get(id);
      if (old === undefined) tableDiff.added.push(JSON.parse(row) as Row);
      else if (old !== row) tableDiff.changed.push({ before: JSON.parse(old) as Row, after: JSON.parse(row) as Row });
    }
    for (const [id, row] of before[table]) {
      if (!after[table].has(id)) tableDiff.removed.push(JSON.parse(row) as Row);
    }
    result[table] = tableDiff;
  }
  return result;
}

/**
 * How each user's association_count moved (user id → difference), for the users
 * whose row changed in that column only; `other` counts user rows changed otherwise.
 * The count moves with every association made or removed (the per-user cap).
 */
export function associationCountMoves(d: DbDiff): { moves: Record<number, number>; other: number } {
  const moves: Record<number, number> = {};
  let other = 0;
  for (const { before, after } of d.users.changed) {
    const { association_count: was, ...restBefore } = before;
    const { association_count: is, ...restAfter } = after;
    if (JSON.stringify(restBefore) === JSON.stringify(restAfter)) moves[Number(after.id)] = Number(is) - Number(was);
    else other++;
  }
  return { moves, other };
}

/** True when nothing was added, removed or changed. */
export function isEmptyDiff(d: DbDiff): boolean {
  return SNAPSHOT_TABLES.every(
    (table) => !d[table].added.length && !d[table].removed.length && !d[table].changed.length,
  );
}

/** A compact description of a diff for assertion messages. */
export function describeDiff(d: DbDiff): string {
  return JSON.stringify(
    Object.fromEntries(
      SNAPSHOT_TABLES.filter(
        (table) => d[table].added.length || d[table].removed.length || d[table].changed.length,
      ).map((table) => [table, d[table]]),
    ),
  );
}
