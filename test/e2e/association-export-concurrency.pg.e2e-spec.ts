import { beforeEach, describe, expect, it } from 'vitest';
import { request } from '../support/http';
import { expectProblem, problems } from '../support/problem';
import { seedAssociations } from '../support/seed-associations';
import { openStream } from '../support/streaming-request';
import { tokenFor } from '../support/tokens';
import { useTestApp } from '../support/use-test-app';

const EXPORT = '/api/v2/social-associations/export/';

/**
 * Exports running alongside other work, on a PostgreSQL server: the embedded
 * engine runs one connection's transaction at a time, so there an export has the
 * database to itself while it streams.
 */
describe('GET /api/v2/social-associations/export/ alongside other connections (PostgreSQL)', () => {
  const t = useTestApp();
  const f = t.f;
  let admin: string;
  beforeEach(async () => {
    admin = tokenFor((await f.makeAdmin()).id);
  });

  it('one snapshot: rows deleted and added while it streams are not in it, it has exactly the rows of its start', async () => {
    const user = await f.makeUser();
    await seedAssociations(t, user.id, 10_000);

    const stream = await openStream(t.baseUrl, EXPORT, admin);

    // Mid-export, from another connection: half the rows gone, new ones added, and committed.
    await t.dataSource.query(
      `DELETE FROM social_associations WHERE ext_id LIKE 'e-%' AND right(ext_id, 1) IN ('1', '3', '5', '7', '9')`,
    );
    await t.dataSource.query(
      `INSERT INTO social_associations (user_id, provider, ext_id) SELECT $1, 'github', 'new-' || n FROM generate_series(1, 100) n`,
      [user.id],
    );
    expect(Number((await t.dataSource.query('SELECT count(*) AS n FROM social_associations'))[0].n)).toBe(5_100);

    const ids = (await stream.rest())
      .split('\n')
      .filter(Boolean)
      .map((line) => (JSON.parse(line) as { ext_id: string }).ext_id);
    expect(ids).toHaveLength(10_000);
    expect(new Set(ids)).toEqual(new Set(Array.from({ length: 10_000 }, (_, i) => `e-${i + 1}`)));
  });

  it('429 too_many_concurrent_requests while two exports run; the third is accepted once one ends', async () => {
    const user = await f.makeUser();
    await seedAssociations(t, user.id, 20_000);
    // Read no further than the first chunk: the exports stay open, waiting for their clients.
    const running = await Promise.all([0, 1].map(() => openStream(t.baseUrl, EXPORT, admin)));
    expect(running.map(({ status }) => status)).toEqual([200, 200]);
    const refused = await request(t.baseUrl, 'GET', EXPORT, { token: admin });
    expectProblem(refused, problems.tooManyConcurrentRequests());

    running[0].disconnect();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const accepted = await request(t.baseUrl, 'GET', `${EXPORT}?ext_id=e-1`, { token: admin });
    expect(accepted.status, accepted.text).toBe(200);
    running[1].disconnect();
  });
});
