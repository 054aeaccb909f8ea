import { beforeAll, describe, expect, it } from 'vitest';
import { AssociationFilter, searchSql } from '../../src/social-associations/social-associations.repository';
import { useTestApp } from '../support/use-test-app';

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

const flatten = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(flatten)];

const ROWS = 1_000_000;
const USERS = 100_000;

/** One value per filter, each matching some of the seeded rows. */
const FILTER_VALUES: Required<AssociationFilter> = {
  provider: 'google',
  userId: 4242,
  extId: 'ext-424242',
  extIdPrefix: 'ext-4242',
  createdSince: '2025-03-01T00:00:00Z',
  createdUntil: '2025-09-01T00:00:00+02:00',
};
const FILTER_NAMES = Object.keys(FILTER_VALUES) as (keyof AssociationFilter)[];

/** Every combination of the filters: 2^6 of them, the empty one included. */
const COMBINATIONS: AssociationFilter[] = Array.from({ length: 2 ** FILTER_NAMES.length }, (_, mask) =>
  Object.fromEntries(FILTER_NAMES.filter((_, bit) => mask & (1 << bit)).map((name) => [name, FILTER_VALUES[name]])),
);

const label = (filter: AssociationFilter): string => Object.keys(filter).join('+') || '(none)';

/**
 * The admin search at a million associations: every combination of its filters,
 * first page and a later one (with the keyset cursor), is answered from an index,
 * never by reading the whole table.
 */
describe('query plans of the admin search at 1M associations (PostgreSQL)', () => {
  // Seeding a million rows takes longer than a request's statement timeout.
  const t = useTestApp({ DATABASE_TIMEOUT_MS: '300000' }, { reset: false });

  beforeAll(async () => {
    await t.dataSource.query(`
      INSERT INTO users (username, has_usable_password, is_active, association_count)
      SELECT 'user_' || n, true, true, 10 FROM generate_series(1, ${USERS}) AS n`);
    // Five providers, ext ids ext-1..ext-1000000, created over 2025, ten per user.
    await t.dataSource.query(`
      INSERT INTO social_associations (user_id, provider, ext_id, show_in_profile, created_at)
      SELECT 1 + (n % ${USERS}),
             (ARRAY['google', 'github', 'facebook', 'keycloak', 'azure-ad'])[1 + n % 5],
             'ext-' || n, n % 3 = 0,
             timestamptz '2025-01-01T00:00:00Z' + (n * interval '31 seconds')
      FROM generate_series(1, ${ROWS}) AS n`);
    await t.dataSource.query('ANALYZE users');
    await t.dataSource.query('ANALYZE social_associations');
  }, 300_000);

  async function plan(sql: string, params: unknown[]): Promise<PlanNode[]> {
    const rows: { 'QUERY PLAN': [{ Plan: PlanNode }] }[] = await t.dataSource.query(
      `EXPLAIN (FORMAT JSON) ${sql}`,
      params,
    );
    return flatten(rows[0]['QUERY PLAN'][0].Plan);
  }

  const seqScans = (nodes: PlanNode[]) =>
    nodes.filter((node) => node['Node Type'] === 'Seq Scan').map((node) => node['Relation Name']);
  const indexes = (nodes: PlanNode[]) => nodes.flatMap((node) => (node['Index Name'] ? [node['Index Name']] : []));

  it.each(COMBINATIONS.map((filter) => [label(filter), filter] as const))(
    'filters %s: an index, no sequential scan, on the first page and after a cursor',
    async (_name, filter) => {
      for (const after of [undefined, { createdAt: '2025-06-15T12:00:00.000000Z', id: 500_000 }]) {
        const nodes = await plan(...searchSql(filter, 51, after));
        expect(seqScans(nodes), JSON.stringify(nodes.map((node) => node['Node Type']))).toEqual([]);
        expect(indexes(nodes).length).toBeGreaterThan(0);
      }
    },
  );

  it('a filter on ext_id alone uses the "C" index, a prefix as a range of it', async () => {
    expect(indexes(await plan(...searchSql({ extId: 'ext-424242' }, 51)))).toContain('ix_social_associations_ext_id_c');
    expect(indexes(await plan(...searchSql({ extIdPrefix: 'ext-42424' }, 51)))).toContain(
      'ix_social_associations_ext_id_c',
    );
  });
});
