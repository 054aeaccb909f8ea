import { expect } from 'vitest';
import { createTestApp, TestApp } from './create-test-app';

/**
 * Two instances of the app in this process, on one fresh database (a server's): the second
 * uses the first one's database, with migrations off as in production. Each has its own
 * connection pool, transactions and background work; being in one process, they could
 * still share module-level state, which scale-out-cluster.pg.redis.e2e-spec.ts rules out.
 */
export async function bootPair(env: Record<string, string>): Promise<[TestApp, TestApp]> {
  const one = await createTestApp(env);
  const shared = one.database.env.DATABASE_URL;
  const two = await createTestApp({ ...env, DATABASE_MIGRATIONS_RUN: 'false' }, { databaseUrl: () => shared });
  expect(two.config.db).toMatchObject({ engine: 'server', url: shared });
  return [one, two];
}

/** The second closes first: the first one's close drops the shared database under it. */
export async function closePair(pair: [TestApp, TestApp] | undefined): Promise<void> {
  await pair?.[1].close();
  await pair?.[0].close();
}
