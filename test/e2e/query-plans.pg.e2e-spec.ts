import { beforeAll, describe, expect, it } from 'vitest';
import {
  DELETE_AUDITED_SQL,
  FIND_BY_IDENTITY_SQL,
  INSERT_AUDITED_SQL,
  LIST_FOR_USER_SQL,
  LIST_OWN_SQL,
} from '../../src/social-associations/social-associations.repository';
import { auditRecordParams } from '../../src/audit/audit-events.repository';
import { FIND_SIGN_IN_STATE_SQL } from '../../src/users/users.repository';
import { useTestApp } from '../support/use-test-app';

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

function flatten(node: PlanNode): PlanNode[] {
  return [node, ...(node.Plans ?? []).flatMap(flatten)];
}

/**
 * The hot statements' generic plans (the ones named prepared statements run)
 * use the indexes they were written for, on a table large enough for the
 * planner to prefer them: no sequential scan of users or social_associations.
 */
describe('query plans of the hot statements (PostgreSQL)', () => {
  // Arranged once (60,000 rows), read by every test: no reset between them.
  const t = useTestApp({}, { reset: false });

  beforeAll(async () => {
    await t.dataSource.query(`
      INSERT INTO users (username, has_usable_password, is_active)
      SELECT 'user_' || n, true, true FROM generate_series(1, 20000) AS n`);
    await t.dataSource.query(`
      INSERT INTO social_associations (user_id, provider, ext_id, show_in_profile)
      SELECT 1 + (n % 20000), CASE WHEN n % 2 = 0 THEN 'google' ELSE 'github' END, 'ext-' || n, n % 3 = 0
      FROM generate_series(1, 40000) AS n`);
    await t.dataSource.query('ANALYZE users');
    await t.dataSource.query('ANALYZE social_associations');
  });

  async function genericPlan(sql: string, parameters: (string | number | boolean | null)[]): Promise<PlanNode[]> {
    const runner = t.dataSource.createQueryRunner();
    try {
      await runner.query('SET plan_cache_mode = force_generic_plan');
      await runner.query(`PREPARE plan_under_test AS ${sql}`);
      const literals = parameters.map((value) =>
        typeof value === 'string' ? `'${value}'` : value === null ? 'NULL' : String(value),
      );
      const rows: { 'QUERY PLAN': [{ Plan: PlanNode }] }[] = await runner.query(
        `EXPLAIN (FORMAT JSON) EXECUTE plan_under_test(${literals.join(', ')})`,
      );
      await runner.query('DEALLOCATE plan_under_test');
      return flatten(rows[0]['QUERY PLAN'][0].Plan);
    } finally {
      await runner.release();
    }
  }

  const seqScans = (nodes: PlanNode[]) =>
    nodes.filter((node) => node['Node Type'] === 'Seq Scan').map((n) => n['Relation Name']);
  const indexes = (nodes: PlanNode[]) => nodes.map((node) => node['Index Name']).filter(Boolean);

  it('the caller lookup uses the users primary key', async () => {
    const nodes = await genericPlan(FIND_SIGN_IN_STATE_SQL, [42]);
    expect(seqScans(nodes)).toEqual([]);
    expect(indexes(nodes)).toContain('users_pkey');
  });

  it('listing a user uses ix_social_associations_user_id_id', async () => {
    const nodes = await genericPlan(LIST_FOR_USER_SQL, [42, false]);
    expect(seqScans(nodes)).toEqual([]);
    expect(indexes(nodes)).toContain('ix_social_associations_user_id_id');
  });

  it("the caller's own list uses ix_social_associations_user_id_id and touches no other table", async () => {
    const nodes = await genericPlan(LIST_OWN_SQL, [42]);
    expect(seqScans(nodes)).toEqual([]);
    expect(indexes(nodes)).toEqual(['ix_social_associations_user_id_id']);
  });

  it('resolving an identity uses the unique (provider, ext_id) index', async () => {
    const nodes = await genericPlan(FIND_BY_IDENTITY_SQL, ['google', 'ext-42']);
    expect(seqScans(nodes)).toEqual([]);
    expect(indexes(nodes)).toContain('uq_social_associations_provider_ext_id');
  });

  it('the audited delete finds its row through the unique (provider, ext_id) index', async () => {
    const nodes = await genericPlan(DELETE_AUDITED_SQL, [
      42,
      'google',
      'ext-42',
      ...auditRecordParams({
        actorUserId: 42,
        action: 'social_association.deleted',
        targetUserId: 42,
        provider: 'google',
        extId: 'ext-42',
        requestId: 'req',
      }),
    ]);
    expect(seqScans(nodes)).toEqual([]);
    expect(
      indexes(nodes).some(
        (name) => name === 'uq_social_associations_provider_ext_id' || name === 'ix_social_associations_user_id_id',
      ),
    ).toBe(true);
  });

  it('the audited insert (with the cap) scans nothing', async () => {
    const nodes = await genericPlan(INSERT_AUDITED_SQL, [
      42,
      'google',
      'new-ext',
      null,
      null,
      false,
      100,
      ...auditRecordParams({
        actorUserId: 42,
        action: 'social_association.created',
        targetUserId: 42,
        provider: 'google',
        extId: 'new-ext',
        requestId: 'req',
      }),
    ]);
    expect(seqScans(nodes)).toEqual([]);
  });
});
