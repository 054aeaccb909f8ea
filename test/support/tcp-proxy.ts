import { createServer, connect, Server, Socket } from 'node:net';

interface Pair {
  client: Socket;
  upstream: Socket | null;
  /** Bytes held back while the proxy drops traffic, by direction. */
  toUpstream: Buffer[];
  toClient: Buffer[];
  /** Opens the upstream connection (at once, or once the proxy stops dropping). */
  connect: () => void;
}

/**
 * A TCP proxy in front of a server (PostgreSQL in the fault tests), to take that
 * server away from one application without touching the shared server:
 * - `stop()`: the listener closes and every connection is reset, as when the
 *   database is stopped (new connections are refused);
 * - `blackhole()`: connections are accepted but nothing gets through in either
 *   direction, as in a network partition (clients can only time out);
 * - `start()` / `heal()` undo them, on the same port.
 */
export class TcpProxy {
  private server: Server | null = null;
  private readonly pairs = new Set<Pair>();
  private dropping = false;
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  /** Listens (again), on the same port as before; a no-op when listening. */
  async start(): Promise<number> {
    if (this.server) return this.port;
    const server = createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as { port: number }).port;
    return this.port;
  }

  /** Database down: refuse new connections, reset the open ones. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const pair of this.pairs) {
      pair.client.resetAndDestroy();
      pair.upstream?.destroy();
    }
    this.pairs.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Database unreachable: keep every connection open, pass nothing. */
  blackhole(): void {
    this.dropping = true;
  }

  /** Bytes clients sent that are held back (while dropping): how much they asked the unreachable server. */
  heldFromClients(): number {
    let bytes = 0;
    for (const pair of this.pairs) for (const chunk of pair.toUpstream) bytes += chunk.length;
    return bytes;
  }

  /** The network is back: what was held back goes through, new connections reach the server again. */
  heal(): void {
    this.dropping = false;
    for (const pair of this.pairs) this.flush(pair);
  }

  private accept(client: Socket): void {
    const close = (): void => {
      this.pairs.delete(pair);
      client.destroy();
      pair.upstream?.destroy();
    };
    const pair: Pair = {
      client,
      upstream: null,
      toUpstream: [],
      toClient: [],
      connect: () => this.connectUpstream(pair, close),
    };
    this.pairs.add(pair);
    client.on('error', close).on('close', close);
    client.on('data', (chunk: Buffer) => {
      pair.toUpstream.push(chunk);
      this.flush(pair);
    });
    // A connection accepted while dropping reaches the server once healed (flush).
    if (!this.dropping) pair.connect();
  }

  private connectUpstream(pair: Pair, close: () => void): void {
    if (pair.upstream) return;
    const upstream = connect(this.targetPort, this.targetHost);
    pair.upstream = upstream;
    upstream.on('error', close).on('close', close);
    upstream.on('data', (chunk: Buffer) => {
      pair.toClient.push(chunk);
      this.flush(pair);
    });
    upstream.on('connect', () => this.flush(pair));
  }

  private flush(pair: Pair): void {
    if (this.dropping) return;
    if (!pair.upstream) pair.connect();
    const upstream = pair.upstream;
    if (upstream && !upstream.connecting) {
      for (const chunk of pair.toUpstream.splice(0)) upstream.write(chunk);
    }
    for (const chunk of pair.toClient.splice(0)) pair.client.write(chunk);
  }
}
