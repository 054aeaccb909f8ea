import { DataSourceOptions } from 'typeorm';
import { AuditEvent } from '../audit/audit-event.entity';
import { AppConfig } from '../config/app-config';
import { SocialAssociation } from '../social-associations/social-association.entity';
import { User } from '../users/user.entity';
import { migrations } from './migrations';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export const entities = [User, SocialAssociation, AuditEvent];

/** One definition of the connection, shared by the app, the CLI and ormconfig.ts. */
export function buildDataSourceOptions(config: AppConfig): DataSourceOptions {
  const common = { entities, migrations, synchronize: false, logging: false } as const;
  const { db } = config;
  if (db.type === 'postgres') {
    return {
      ...common,
      type: 'postgres',
      url: db.url,
      poolSize: db.poolSize,
      // Fail fast instead of queueing forever when the database is unreachable.
      connectTimeoutMS: 5000,
      extra: { max: db.poolSize, connectionTimeoutMillis: 5000 },
    };
  }
  mkdirSync(dirname(db.path), { recursive: true });
  return {
    ...common,
    type: 'better-sqlite3',
    database: db.path,
    enableWAL: true,
    // Wait for a concurrent writer (another process: CLI, migrations) instead of failing at once.
    timeout: 5000,
    prepareDatabase: (connection: { pragma(source: string): unknown }) => {
      connection.pragma('foreign_keys = ON');
    },
  };
}
