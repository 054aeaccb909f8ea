import { NestFactory } from '@nestjs/core';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { DestinationStream } from 'pino';
import { DataSource } from 'typeorm';
import { AppModule } from '../../src/app.module';
import { configureApp, createFastifyAdapter } from '../../src/app.setup';
import { createLogger } from '../../src/common/logging/logger';
import { AppConfig, loadAppConfig } from '../../src/config/app-config';
import { createTestDatabase, TestDatabase } from './test-database';

export const TEST_JWT_SECRET = 'test-secret-that-is-at-least-32-characters-long';

export interface TestApp {
  app: NestFastifyApplication;
  /** e.g. http://127.0.0.1:41234 */
  baseUrl: string;
  config: AppConfig;
  dataSource: DataSource;
  database: TestDatabase;
  /** Empties every table (between tests). */
  reset(): Promise<void>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  /** Rewrites the PostgreSQL URL of the fresh database (e.g. to reach it through a proxy). */
  databaseUrl?: (url: string) => string;
  /** Where the service's log lines go (with LOG_LEVEL in `env`); by default nowhere. */
  logStream?: DestinationStream;
}

/**
 * Boots the real application, the way main.ts does, on a fresh database and a
 * random local port. `env` adds or overrides configuration variables. Rate
 * limiting is off unless `env` sets RATE_LIMIT_PER_MINUTE.
 */
export async function createTestApp(env: Record<string, string> = {}, options: TestAppOptions = {}): Promise<TestApp> {
  const database = await createTestDatabase();
  const databaseEnv = { ...database.env };
  if (databaseEnv.DATABASE_URL && options.databaseUrl) {
    databaseEnv.DATABASE_URL = options.databaseUrl(databaseEnv.DATABASE_URL);
  }
  const config = loadAppConfig({
    NODE_ENV: 'test',
    JWT_SECRET: TEST_JWT_SECRET,
    LOG_LEVEL: 'silent',
    RATE_LIMIT_PER_MINUTE: '0',
    ...databaseEnv,
    ...env,
  });
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config),
    createFastifyAdapter(config, createLogger(config.logLevel, options.logStream)),
    { logger: false, bodyParser: false, abortOnError: false },
  );
  configureApp(app);
  await app.listen(0, '127.0.0.1');
  const dataSource = app.get<DataSource>(getDataSourceToken());
  const baseUrl = (await app.getUrl()).replace('[::1]', '127.0.0.1');

  return {
    app,
    baseUrl,
    config,
    dataSource,
    database,
    reset: () => resetTables(dataSource),
    close: async () => {
      await app.close();
      await database.drop();
    },
  };
}

/** One round trip; DELETE rather than TRUNCATE, which costs a few ms of file work on the embedded engine. */
const RESET_SQL = `
  DELETE FROM webhook_endpoints; DELETE FROM audit_events; DELETE FROM social_associations; DELETE FROM users;
  ALTER TABLE audit_events ALTER COLUMN id RESTART;
  ALTER TABLE social_associations ALTER COLUMN id RESTART;
  ALTER TABLE users ALTER COLUMN id RESTART;
  ALTER SEQUENCE webhook_endpoints_id_seq RESTART`;

async function resetTables(dataSource: DataSource): Promise<void> {
  await dataSource.query(RESET_SQL);
}
