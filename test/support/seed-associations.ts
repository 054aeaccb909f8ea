import { TestApp } from './create-test-app';

/** Seeds `count` associations for one user, ext ids e-1..e-count, linked one second apart (e-count newest). */
export async function seedAssociations(t: TestApp, userId: number, count: number): Promise<void> {
  await t.dataSource.query(
    `INSERT INTO social_associations (user_id, provider, ext_id, created_at)
     SELECT $1, 'google', 'e-' || n, timestamptz '2025-01-01T00:00:00Z' + n * interval '1 second'
     FROM generate_series(1, $2::integer) AS n`,
    [userId, count],
  );
}
