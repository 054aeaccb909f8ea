import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';

/** Slow headers are cut sooner than the whole request: no client needs seconds to send 8 KB of headers. */
const MAX_HEADERS_TIMEOUT_MS = 5000;
/** How often Node looks for requests past their timeouts: the bounds hold to within this. */
const TIMEOUT_CHECK_INTERVAL_MS = 500;
/** Descriptors kept back from HTTP clients: the database pool (two per connection on the embedded engine), files, logs. */
const RESERVED_DESCRIPTORS = 128;

/** Options of node:http's server that Fastify passes through (`http`), timing out requests that take too long to arrive. */
export function httpServerOptions(requestTimeoutMs: number): {
  requestTimeout: number;
  headersTimeout: number;
  connectionsCheckingInterval: number;
} {
  return {
    requestTimeout: requestTimeoutMs,
    headersTimeout: Math.min(MAX_HEADERS_TIMEOUT_MS, requestTimeoutMs),
    connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
  };
}

/** This process's limit on open files (Linux: /proc/self/limits), if it can be read. */
function openFilesLimit(): number | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((entry) => entry.startsWith('Max open files'));
    const soft = line?.split(/\s{2,}/)[1];
    return soft && /^\d+$/.test(soft) ? Number(soft) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Bounds the connections the HTTP server holds at once, below the process's
 * limit on open files: however many sockets clients open (and leave stalled),
 * descriptors stay free for the database pool, so the requests of clients
 * already connected are still answered. Connections past the bound are closed
 * as they arrive.
 */
export function limitConnections(server: Server, databasePoolSize: number): void {
  const limit = openFilesLimit();
  if (limit !== undefined) server.maxConnections = Math.max(16, limit - RESERVED_DESCRIPTORS - 2 * databasePoolSize);
}
