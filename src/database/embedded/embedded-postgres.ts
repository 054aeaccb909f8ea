import { PGlite } from '@electric-sql/pglite';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { connect, createServer, Server } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PGliteWireServer, WireEngine } from './pglite-wire-server';

type Engine = WireEngine & { close(): Promise<void> };

/**
 * The socket is `<folder>/.s.PGSQL.5432`, where every PostgreSQL client looks for
 * a server whose host is that folder: `psql -h <folder>` works too.
 */
export const EMBEDDED_SOCKET_PORT = 5432;
/** Unix socket paths are limited (108 bytes on Linux, 104 on macOS, the terminating NUL included). */
const MAX_SOCKET_PATH_BYTES = 103;
/** A folder being taken over from a process that died is locked by this directory for at most this long. */
const STALE_BREAK_LOCK_MS = 10_000;

export interface EmbeddedLocation {
  /** DATABASE_PATH, resolved. */
  folder: string;
  /** PGlite's data directory (PGDATA). */
  dataDir: string;
  socketPath: string;
}

export function embeddedLocation(folder: string): EmbeddedLocation {
  return {
    folder,
    dataDir: join(folder, 'pgdata'),
    socketPath: join(folder, `.s.PGSQL.${EMBEDDED_SOCKET_PORT}`),
  };
}

/** DATABASE_PATH names a folder served by another process (a server, or a CLI command that opened it). */
export class DataFolderInUseError extends Error {
  constructor(folder: string) {
    super(
      `DATABASE_PATH ${folder} is in use by another process (a running server, or a CLI command): ` +
        'stop it, or give this process a DATABASE_PATH of its own',
    );
    this.name = 'DataFolderInUseError';
  }
}

export interface EmbeddedPostgresOptions {
  /** Bounds every wait on the shared session (see PGliteWireServer). */
  timeoutMs: number;
  onError: (error: unknown) => void;
}

/**
 * PostgreSQL in this process: PGlite on DATABASE_PATH, served on the folder's
 * socket. Only one process may open a folder: the socket itself is the lock
 * (binding it fails while another process serves it), so other processes reach
 * this engine through it, as PostgreSQL clients.
 */
export class EmbeddedPostgres {
  private constructor(
    readonly location: EmbeddedLocation,
    private readonly listener: Server,
    private readonly db: Engine,
    private readonly wire: PGliteWireServer,
  ) {}

  /**
   * Opens the folder's database (initialising it on first use) and serves it.
   * Throws DataFolderInUseError when another process serves it.
   */
  static async start(location: EmbeddedLocation, options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
    if (Buffer.byteLength(location.socketPath) > MAX_SOCKET_PATH_BYTES) {
      throw new Error(
        `DATABASE_PATH ${location.folder} is too long for its socket (${location.socketPath} must be at most ` +
          `${MAX_SOCKET_PATH_BYTES} bytes): choose a shorter path`,
      );
    }
    if (existsSync(location.folder) && !statSync(location.folder).isDirectory()) {
      throw new Error(`DATABASE_PATH ${location.folder} is a file: it must name the folder of the embedded database`);
    }
    mkdirSync(location.folder, { recursive: true, mode: 0o700 });
    const listener = await claimSocket(location);
    if (!listener) throw new DataFolderInUseError(location.folder);
    // Served at once: connections that arrive while PGlite starts wait for it.
    const opening = initialize(location.dataDir).then((): Promise<Engine> =>
      PGlite.create({ dataDir: location.dataDir }),
    );
    const wire = new PGliteWireServer(opening, options);
    wire.attach(listener);
    try {
      return new EmbeddedPostgres(location, listener, await opening, wire);
    } catch (error) {
      await wire.close();
      await closeListener(listener);
      throw error;
    }
  }

  /** Disconnects every client, closes the database and frees the folder. */
  async stop(): Promise<void> {
    const closed = closeListener(this.listener);
    await this.wire.close();
    await closed;
    await this.db.close();
  }
}

/**
 * Creates a new database folder in a child process. Initialising it grows PGlite's
 * WebAssembly memory to ~800 MB, which a process never gets back: done here, the
 * server would hold that for as long as it runs, instead of ~300 MB.
 */
async function initialize(dataDir: string): Promise<void> {
  if (existsSync(dataDir)) return;
  // Made beside it and renamed into place: a start interrupted half-way leaves no half-made database.
  const partial = `${dataDir}.partial`;
  rmSync(partial, { recursive: true, force: true });
  const script =
    'const { PGlite } = require(process.argv[1]);' +
    'PGlite.create({ dataDir: process.argv[2] }).then((db) => db.close()).catch((e) => { console.error(e); process.exit(1); });';
  await promisify(execFile)(process.execPath, ['-e', script, require.resolve('@electric-sql/pglite'), partial], {
    timeout: 120_000,
  });
  renameSync(partial, dataDir);
}

/** True when a process accepts connections on the socket. */
function isServed(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    socket.setTimeout(1000, () => {
      // Accepting but slow (a busy engine): served all the same.
      socket.destroy();
      resolve(true);
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'EAGAIN'));
  });
}

/**
 * Binds the folder's socket: the listener, or null when another process serves
 * it. A socket file left by a process that died (kill -9) is removed first, by
 * one process at a time, so that two processes starting together cannot both
 * take the folder over.
 */
async function claimSocket(location: EmbeddedLocation): Promise<Server | null> {
  const breakLock = join(location.folder, '.takeover');
  for (let attempt = 0; attempt < 500; attempt++) {
    const listener = createServer();
    try {
      await new Promise<void>((resolve, reject) => {
        listener.once('error', reject);
        listener.listen({ path: location.socketPath, readableAll: false, writableAll: false }, () => {
          listener.off('error', reject);
          resolve();
        });
      });
      return listener;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    }
    if (await isServed(location.socketPath)) return null;
    if (takeLock(breakLock)) {
      try {
        if (!(await isServed(location.socketPath))) rmSync(location.socketPath, { force: true });
      } finally {
        rmdirSync(breakLock);
      }
    } else {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  throw new Error(`could not take over DATABASE_PATH ${location.folder}: its socket stays in use`);
}

/** mkdir is atomic: exactly one process creates the directory. A lock older than its bound was left by a crash. */
function takeLock(path: string): boolean {
  try {
    mkdirSync(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    try {
      if (Date.now() - statSync(path).mtimeMs > STALE_BREAK_LOCK_MS) rmdirSync(path);
    } catch {
      // Removed meanwhile by its owner.
    }
    return false;
  }
}

function closeListener(listener: Server): Promise<void> {
  return new Promise((resolve) => listener.close(() => resolve()));
}
