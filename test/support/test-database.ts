import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { inject } from 'vitest';
import { loadAppConfig } from '../../src/config/app-config';
import { OwnedDataSource } from '../../src/database/data-source-options';

/**
 * A database of its own for one test file: a fresh PostgreSQL database on the
 * server of DATABASE_URL when that is set, else a fresh embedded database folder
 * (a copy of the migrated template that test/support/global-setup.ts made). Dropped by
 * `drop()`.
 */
export interface TestDatabase {
  /** Environment variables that point the app at this database. */
  env: Record<string, string>;
  kind: 'server' | 'embedded';
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    const dir = mkdtempSync(join(tmpdir(), 'sa-test-'));
    const folder = join(dir, 'db');
    cpSync(inject('embeddedTemplate'), folder, { recursive: true });
    return {
      kind: 'embedded',
      env: { DATABASE_PATH: folder },
      drop: () => {
        rmSync(dir, { recursive: true, force: true });
        return Promise.resolve();
      },
    };
  }

  const name = `sa_test_${randomBytes(6).toString('hex')}`;
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    kind: 'server',
    env: { DATABASE_URL: url.toString() },
    drop: async () => {
      const client = new Client({ connectionString: serverUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

/**
 * Runs one statement on a test database from outside the service, as the CLI
 * would: through the running service's socket on the embedded engine (or
 * opening the folder when none runs), directly on a server.
 */
export async function queryTestDatabase<R>(database: TestDatabase, sql: string, values: unknown[] = []): Promise<R[]> {
  const config = loadAppConfig({ NODE_ENV: 'test', JWT_SECRET: 'x'.repeat(32), ...database.env });
  const dataSource = await OwnedDataSource.open(config, { shareRunningEngine: true, onEngineError: () => {} });
  await dataSource.initialize();
  try {
    return await dataSource.query<R[]>(sql, values);
  } finally {
    await dataSource.destroy();
  }
}
