import { DatabaseConfig } from '../config/app-config';
import {
  DataFolderInUseError,
  EMBEDDED_SOCKET_PORT,
  EmbeddedPostgres,
  embeddedLocation,
} from './embedded/embedded-postgres';

/** Where pg and TypeORM connect: a server's URL, or the embedded engine's socket folder. */
export type DatabaseEndpoint = { url: string } | { host: string; port: number; username: string; database: string };

/**
 * The database this process talks to, opened before anything queries it. Both
 * engines are PostgreSQL and get the same SQL; only the transport differs.
 */
export abstract class DatabaseConnection {
  abstract readonly endpoint: DatabaseEndpoint;
  /**
   * Whether the hot queries are sent as named prepared statements (planned once
   * per connection). Not on the embedded engine, whose one session every client
   * shares: two connections preparing one name would collide there.
   */
  abstract readonly namedStatements: boolean;
  /** For the start-up log line: which engine, and where. */
  abstract readonly description: string;
  abstract close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /**
   * When another process (a running server) serves the embedded folder: true
   * connects to it (the CLI), false waits for it to be free, then fails (the
   * server must own its database: the other process may go away at any time).
   */
  shareRunningEngine: boolean;
  onEngineError: (error: unknown) => void;
}

/** How long a server waits for another process (a CLI command) to free the embedded folder. */
const FOLDER_WAIT_MS = 3000;

export async function openDatabase(db: DatabaseConfig, options: OpenDatabaseOptions): Promise<DatabaseConnection> {
  if (db.engine === 'server') {
    return { endpoint: { url: db.url }, namedStatements: true, description: 'postgres', close: async () => {} };
  }
  const location = embeddedLocation(db.path);
  const viaSocket = { host: db.path, port: EMBEDDED_SOCKET_PORT, username: 'postgres', database: 'postgres' };
  const deadline = Date.now() + FOLDER_WAIT_MS;
  for (;;) {
    try {
      const engine = await EmbeddedPostgres.start(location, {
        timeoutMs: db.timeoutMs,
        onError: options.onEngineError,
      });
      return {
        endpoint: viaSocket,
        namedStatements: false,
        description: `embedded postgres (${db.path})`,
        close: () => engine.stop(),
      };
    } catch (error) {
      if (!(error instanceof DataFolderInUseError)) throw error;
      if (options.shareRunningEngine) {
        return {
          endpoint: viaSocket,
          namedStatements: false,
          description: `embedded postgres, served by another process (${db.path})`,
          close: async () => {},
        };
      }
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
