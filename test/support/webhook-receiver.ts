import { createServer, IncomingHttpHeaders, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

/** One request the receiver got. */
export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  body: string;
  receivedAt: number;
  /** What the receiver answered: the status `mode` said when the request arrived, or `hang`. */
  answered: ReceiverMode;
}

/** How the receiver answers: a status, or `hang` (read the request, never answer). */
export type ReceiverMode = number | 'hang';

/**
 * A webhook receiver in the test process: a real HTTP server on 127.0.0.1 that
 * records every request and answers with the status `mode` says.
 */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  mode: ReceiverMode = 200;
  /** How long it takes to answer each request (0: at once); `answered` is still the mode when it arrived. */
  delayMs = 0;
  private readonly server: Server;
  private readonly hanging = new Set<ServerResponse>();

  private constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        this.received.push({
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          receivedAt: Date.now(),
          answered: this.mode,
        });
        const mode = this.mode;
        if (mode === 'hang' || this.delayMs > 0) {
          this.hanging.add(res);
          res.on('close', () => this.hanging.delete(res));
        }
        if (mode === 'hang') return;
        const answer = (): void => {
          // The sender may be gone meanwhile (a killed service): then there is no one to answer.
          if (!res.destroyed) res.writeHead(mode, { 'content-type': 'text/plain' }).end('ok');
        };
        if (this.delayMs > 0) setTimeout(answer, this.delayMs);
        else answer();
      });
    });
  }

  private port = 0;

  static async start(): Promise<WebhookReceiver> {
    const receiver = new WebhookReceiver();
    await new Promise<void>((done) => receiver.server.listen(0, '127.0.0.1', done));
    receiver.port = (receiver.server.address() as AddressInfo).port;
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks`;
  }

  /** Listens again on the same port after close(): a receiver that was down and is back. */
  async reopen(): Promise<void> {
    await new Promise<void>((done) => this.server.listen(this.port, '127.0.0.1', done));
  }

  /**
   * The bodies, parsed, of every request (or of `requests`) verified with `secret` by the
   * standardwebhooks library; throws on any that fails.
   */
  verified(
    secret: string,
    requests: readonly ReceivedWebhook[] = this.received,
  ): { id: string; type: string; timestamp: string; data: Record<string, unknown> }[] {
    const webhook = new Webhook(secret);
    return requests.map((request) => {
      const payload = webhook.verify(request.body, {
        'webhook-id': String(request.headers['webhook-id']),
        'webhook-timestamp': String(request.headers['webhook-timestamp']),
        'webhook-signature': String(request.headers['webhook-signature']),
      }) as { type: string; timestamp: string; data: Record<string, unknown> };
      return { id: String(request.headers['webhook-id']), ...payload };
    });
  }

  /** The requests it answered with a 2xx, in the order they arrived: the deliveries (a failed attempt is not one). */
  accepted(): ReceivedWebhook[] {
    return this.received.filter((r) => typeof r.answered === 'number' && r.answered >= 200 && r.answered < 300);
  }

  /** Resolves once `count` requests arrived; rejects after `timeoutMs`. */
  async waitFor(count: number, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length < count) {
      if (Date.now() > deadline)
        throw new Error(`receiver: ${this.received.length} of ${count} requests after ${timeoutMs} ms`);
      await new Promise((done) => setTimeout(done, 25));
    }
  }

  /** Stops listening (connections are refused) and drops the open ones; reopen() brings it back. */
  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections();
    if (this.server.listening) await new Promise<void>((done) => this.server.close(() => done()));
  }
}
