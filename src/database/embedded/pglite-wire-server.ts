import type { Server, Socket } from 'node:net';

/** What this server needs of a PGlite instance: its raw protocol entry point. */
export interface WireEngine {
  execProtocolRaw(message: Uint8Array, options?: { syncToFs?: boolean }): Promise<Uint8Array>;
}

/*
 * PostgreSQL wire protocol (v3) framing. Before start-up a message is
 * [int32 length][int32 code][...]; after it, [byte type][int32 length][...],
 * the length counting itself but not the type byte.
 */
const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
/** Start-up packets and messages longer than this are refused: no client of ours sends one. */
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

const SYNC = Buffer.from([0x53, 0, 0, 0, 4]);
const ROLLBACK = simpleQuery('ROLLBACK');
/** What PostgreSQL answers when statement_timeout cancels a statement. */
const TIMED_OUT = Buffer.concat([
  errorResponse('57014', 'canceling statement: it waited too long for the embedded database'),
  Buffer.from([0x5a, 0, 0, 0, 5, 0x49]), // ReadyForQuery, idle
]);

/** The transaction status of ReadyForQuery: idle, in a transaction, in a failed transaction. */
type SessionStatus = 'I' | 'T' | 'E';

export interface PGliteWireServerOptions {
  /**
   * Longest a client may keep the session without sending anything while it is
   * not idle (an open transaction, a half-sent batch), and longest a request may
   * wait for the session. Past the first, the client is disconnected and its
   * transaction rolled back; past the second, its request is refused with
   * SQLSTATE 57014 (as a statement timeout would), so that it is never run
   * after its client gave up.
   */
  timeoutMs: number;
  /** Reports what went wrong inside the engine (never a client's mistake). */
  onError: (error: unknown) => void;
}

/**
 * Serves the PostgreSQL wire protocol on a socket, onto the one session that a
 * PGlite instance has. Any PostgreSQL client (pg, TypeORM, psql) connects
 * unchanged; the clients take turns: one has the session from its first message
 * until the session is idle again (ReadyForQuery with status I). So the
 * messages of an extended-protocol batch (Parse, Bind, Execute, Sync) and the
 * statements of a transaction are never interleaved with another client's.
 *
 * Written here rather than taken from @electric-sql/pglite-socket, which
 * interleaves clients message by message outside transactions: one client's
 * Parse then replaces another's unnamed statement (electric-sql/pglite#1046).
 *
 * Session state is shared: a named prepared statement made by one client exists
 * for all of them, so clients of this server send unnamed statements.
 */
export class PGliteWireServer {
  private owner: WireClient | null = null;
  private readonly waiting: WireClient[] = [];
  private readonly clients = new Set<WireClient>();
  private closed = false;

  /** `engine` may still be starting: clients that come early wait for it. */
  constructor(
    private readonly engine: Promise<WireEngine>,
    private readonly options: PGliteWireServerOptions,
  ) {}

  /** Serves every connection the server accepts. */
  attach(server: Server): void {
    server.on('connection', (socket) => this.accept(socket));
  }

  /** Disconnects every client (an open transaction is rolled back) and stops serving. */
  async close(): Promise<void> {
    this.closed = true;
    for (const client of this.clients) client.socket.destroy();
    // The owner's turn ends (with its rollback) before the engine may close.
    while (this.owner) await new Promise((resolve) => setImmediate(resolve));
  }

  private accept(socket: Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    const client = new WireClient(socket);
    this.clients.add(client);
    socket.on('data', (chunk: Buffer) => {
      client.receive(chunk);
      this.onMessages(client);
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.onGone(client));
  }

  private onMessages(client: WireClient): void {
    if (client.gone) return;
    // Before start-up, negotiation packets are answered here: they need no session.
    while (!client.started && client.peekStartupCode() !== undefined) {
      const code = client.peekStartupCode();
      if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
        client.take();
        client.socket.write('N'); // no encryption on a local socket
      } else if (code === CANCEL_REQUEST) {
        // There is no backend process to signal; the protocol expects no answer.
        client.socket.destroy();
        return;
      } else {
        break; // the StartupMessage itself runs in the session
      }
    }
    if (client.invalid) {
      client.socket.destroy();
      return;
    }
    if (!client.hasMessage()) {
      // Nothing to run yet; an owner that stopped half-way gets a bounded time to go on.
      if (this.owner === client && !client.running) this.armHoldTimer(client);
      return;
    }
    this.clearHoldTimer(client);
    if (this.owner === client) {
      if (!client.running) void this.runTurn(client);
    } else if (this.owner === null) {
      this.owner = client;
      void this.runTurn(client);
    } else if (!this.waiting.includes(client)) {
      client.waitingSince = Date.now();
      this.waiting.push(client);
    }
  }

  /**
   * Runs the client's complete messages while it has the session: all that have
   * arrived in one call (PGlite runs a buffer of messages in one go, as a server
   * reads them from its socket).
   */
  private async runTurn(client: WireClient): Promise<void> {
    client.running = true;
    try {
      // It waited longer than its own client waits for an answer (pg's query_timeout):
      // its batch is refused rather than run after the client has given up.
      if (client.started && client.waitingSince !== null && Date.now() - client.waitingSince > this.options.timeoutMs) {
        client.refusing = true;
      }
      client.waitingSince = null;
      while (!client.gone) {
        if (client.refusing) {
          const message = client.take();
          if (message === undefined) break;
          // A simple query is one message; an extended batch is answered at its Sync.
          if (message[0] === 0x51 /* Q */ || message[0] === 0x53 /* S */) {
            client.refusing = false;
            client.socket.write(TIMED_OUT);
          }
          continue;
        }
        const batch = client.takeBatch();
        if (batch === undefined) break;
        if (batch.messages.length > 0) {
          // syncToFs is for PGlite's browser file systems; on Node every write reaches the file as it is made.
          const reply = await (await this.engine).execProtocolRaw(batch.messages, { syncToFs: false });
          client.started = true;
          client.status = lastReadyStatus(reply) ?? 'busy';
          if (!client.gone && reply.length > 0) client.socket.write(reply);
        }
        if (batch.terminated) {
          client.socket.end();
          break;
        }
      }
    } catch (error) {
      this.options.onError(error);
      client.socket.destroy();
    } finally {
      client.running = false;
    }
    if (client.gone) {
      await this.endTurn(client);
    } else if (client.status === 'I' && !client.refusing) {
      this.release(client);
    } else {
      this.armHoldTimer(client);
    }
  }

  private armHoldTimer(client: WireClient): void {
    if (client.holdTimer || client.status === 'I') return;
    client.holdTimer = setTimeout(() => {
      client.socket.destroy(); // its transaction is rolled back when the close arrives
    }, this.options.timeoutMs);
    client.holdTimer.unref();
  }

  private clearHoldTimer(client: WireClient): void {
    if (client.holdTimer) clearTimeout(client.holdTimer);
    client.holdTimer = undefined;
  }

  private onGone(client: WireClient): void {
    if (client.gone) return;
    client.gone = true;
    this.clearHoldTimer(client);
    this.clients.delete(client);
    const index = this.waiting.indexOf(client);
    if (index >= 0) this.waiting.splice(index, 1);
    if (this.owner === client && !client.running) void this.endTurn(client);
  }

  /** A client left while it had the session: finish its batch and roll back its transaction, then hand over. */
  private async endTurn(client: WireClient): Promise<void> {
    try {
      const db = await this.engine;
      if (client.status === 'busy') client.status = lastReadyStatus(await db.execProtocolRaw(SYNC)) ?? 'E';
      if (client.status === 'T' || client.status === 'E') await db.execProtocolRaw(ROLLBACK);
    } catch (error) {
      this.options.onError(error);
    }
    client.status = 'I';
    this.release(client);
  }

  private release(client: WireClient): void {
    if (this.owner !== client) return;
    this.owner = null;
    if (this.closed) return;
    const next = this.waiting.shift();
    if (next) {
      this.owner = next;
      void this.runTurn(next);
    }
  }
}

/** One connected client: its unread bytes and where its session stands. */
class WireClient {
  started = false;
  gone = false;
  running = false;
  /** Set when a frame cannot be valid: the connection is dropped. */
  invalid = false;
  /** After its last message: a ReadyForQuery status, or busy (a batch without its Sync yet). */
  status: SessionStatus | 'busy' = 'I';
  /** Its batch waited too long: its messages are dropped up to the batch's end, then refused. */
  refusing = false;
  waitingSince: number | null = null;
  holdTimer: NodeJS.Timeout | undefined;
  private buffer: Buffer = Buffer.alloc(0);

  constructor(readonly socket: Socket) {}

  receive(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
  }

  /** The code of a complete start-up packet at the front, if there is one. */
  peekStartupCode(): number | undefined {
    if (this.buffer.length < 8) return undefined;
    const length = this.buffer.readInt32BE(0);
    if (length < 8 || length > MAX_MESSAGE_BYTES) {
      this.invalid = true;
      return undefined;
    }
    return this.buffer.length >= length ? this.buffer.readInt32BE(4) : undefined;
  }

  hasMessage(): boolean {
    return this.frameLength(0) !== undefined;
  }

  /** Removes and returns the complete message at the front, if there is one. */
  take(): Buffer | undefined {
    const length = this.frameLength(0);
    if (length === undefined) return undefined;
    const message = this.buffer.subarray(0, length);
    this.buffer = this.buffer.subarray(length);
    return message;
  }

  /**
   * Removes the complete messages at the front: the start-up packet alone, else
   * every message up to the first incomplete one or a Terminate (which is not
   * passed on: PGlite's backend would exit on it).
   */
  takeBatch(): { messages: Buffer; terminated: boolean } | undefined {
    if (!this.started) {
      const startup = this.take();
      return startup && { messages: startup, terminated: false };
    }
    let end = 0;
    let length: number | undefined;
    while ((length = this.frameLength(end)) !== undefined) {
      if (this.buffer[end] === 0x58 /* X */) {
        const messages = this.buffer.subarray(0, end);
        this.buffer = this.buffer.subarray(end + length);
        return { messages, terminated: true };
      }
      end += length;
    }
    if (end === 0) return undefined;
    const messages = this.buffer.subarray(0, end);
    this.buffer = this.buffer.subarray(end);
    return { messages, terminated: false };
  }

  /** The length of the complete frame at `offset`, if it has fully arrived. */
  private frameLength(offset: number): number | undefined {
    const header = this.started ? 5 : 4;
    if (this.buffer.length < offset + header) return undefined;
    const declared = this.started ? this.buffer.readInt32BE(offset + 1) : this.buffer.readInt32BE(offset);
    if (declared < 4 || declared > MAX_MESSAGE_BYTES) {
      this.invalid = true;
      return undefined;
    }
    const length = this.started ? declared + 1 : declared;
    return this.buffer.length >= offset + length ? length : undefined;
  }
}

/** The status of the last ReadyForQuery in a reply, if it has one. */
function lastReadyStatus(reply: Uint8Array): SessionStatus | undefined {
  let status: SessionStatus | undefined;
  let offset = 0;
  const view = Buffer.from(reply.buffer, reply.byteOffset, reply.byteLength);
  while (offset + 5 <= view.length) {
    const type = view[offset];
    const length = view.readInt32BE(offset + 1);
    if (type === 0x5a /* Z */ && length === 5 && offset + 5 < view.length) {
      status = String.fromCharCode(view[offset + 5]) as SessionStatus;
    }
    offset += 1 + length;
  }
  return status;
}

function simpleQuery(sql: string): Buffer {
  const body = Buffer.from(`${sql}\0`);
  const message = Buffer.alloc(5 + body.length);
  message[0] = 0x51; // Q
  message.writeInt32BE(4 + body.length, 1);
  body.copy(message, 5);
  return message;
}

function errorResponse(sqlstate: string, text: string): Buffer {
  const fields = Buffer.from(`SERROR\0VERROR\0C${sqlstate}\0M${text}\0\0`);
  const message = Buffer.alloc(5 + fields.length);
  message[0] = 0x45; // E
  message.writeInt32BE(4 + fields.length, 1);
  fields.copy(message, 5);
  return message;
}
