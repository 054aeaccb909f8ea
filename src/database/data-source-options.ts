import { DataSource, DataSourceOptions } from 'typeorm';
import { AuditEvent } from '../audit/audit-event.entity';
import { AppConfig } from '../config/app-config';
import { SocialAssociation } from '../social-associations/social-association.entity';
import { User } from '../users/user.entity';
import { DatabaseConnection, openDatabase, OpenDatabaseOptions } from './database-connection';
import { migrations } from './migrations';

export const entities = [User, SocialAssociation, AuditEvent];

/** One definition of the connection, shared by the app, the CLI and ormconfig.ts. */
export function buildDataSourceOptions(config: AppConfig, connection: DatabaseConnection): DataSourceOptions {
  const { db } = config;
  return {
    type: 'postgres',
    ...connection.endpoint,
    entities,
    migrations,
    synchronize: false,
    logging: false,
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
      // A row lock held elsewhere (another request, an operator's psql) is waited for a quarter of a
      // request's budget per lock: a row that others also wait for is two waits (its queue, then the
      // holder's transaction), so half of the budget at most. The other half bounds the request's
      // wait for a turn among the same user's requests (ConcurrencyLimitGuard): such a request
      // ends within DATABASE_TIMEOUT_MS.
      lock_timeout: Math.ceil(db.timeoutMs / 4),
      // A second longer on the client: the server's statement timeout decides first, so a
      // request is never answered 503 for a write the server then commits.
      query_timeout: db.timeoutMs + 1000,
      // Notice a peer that vanished without closing the connection.
      keepAlive: true,
    },
  };
}

/**
 * A DataSource that owns the database it connects to: destroying it also closes
 * the embedded engine it opened. For code that runs outside Nest (ormconfig.ts,
 * the cluster primary's migrations).
 */
export class OwnedDataSource extends DataSource {
  constructor(
    config: AppConfig,
    private readonly connection: DatabaseConnection,
  ) {
    super(buildDataSourceOptions(config, connection));
  }

  static async open(config: AppConfig, options: OpenDatabaseOptions): Promise<OwnedDataSource> {
    return new OwnedDataSource(config, await openDatabase(config.db, options));
  }

  override async destroy(): Promise<void> {
    try {
      if (this.isInitialized) await super.destroy();
    } finally {
      await this.connection.close();
    }
  }
}
