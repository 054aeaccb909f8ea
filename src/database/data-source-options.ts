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
      // Fail fast instead of hanging when the database is unreachable or stuck: waiting
      // for a pooled connection (or opening one), a statement on the server, and the
      // round trip on the client are each bounded by the configured timeout. A request
      // then fails with 503 (see isDatabaseUnavailable) and the pool reconnects on its own.
      connectTimeoutMS: db.timeoutMs,
      extra: {
        max: db.poolSize,
        connectionTimeoutMillis: db.timeoutMs,
        statement_timeout: db.timeoutMs,
        // A second longer on the client: the server's statement timeout decides first, so a
        // request is never answered 503 for a write the server then commits.
        query_timeout: db.timeoutMs + 1000,
        // Notice a peer that vanished without closing the connection.
        keepAlive: true,
      },
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
