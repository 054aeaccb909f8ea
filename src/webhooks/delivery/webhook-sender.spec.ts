import type { LookupAddress } from 'node:dns';
import { once } from 'node:events';
import {
  createServer as createHttpServer,
  IncomingHttpHeaders,
  IncomingMessage,
  Server,
  ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { AddressInfo, Socket } from 'node:net';
import { createSecureContext } from 'node:tls';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebhookSender, WebhookSenderOptions } from './webhook-sender';

// Names under .test answer what the test needs (RFC 6761: never a real name); every other
// name goes to the real resolver. Only the sender's own check asks this module: node:net's
// lookup does not, so `pinned.test` is reachable only through the address the sender pinned.
const TEST_NAMES: Record<string, LookupAddress[] | 'hang' | 'nxdomain'> = {
  'pinned.test': [{ address: '127.0.0.1', family: 4 }],
  'hang.test': 'hang',
  'nxdomain.test': 'nxdomain',
};
vi.mock('node:dns/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:dns/promises')>();
  return {
    ...real,
    lookup: (name: string, options: { all: true }) => {
      const answer = TEST_NAMES[name];
      if (answer === undefined) return real.lookup(name, options);
      if (answer === 'hang') return new Promise(() => {});
      if (answer === 'nxdomain') return Promise.reject(Object.assign(new Error('not found'), { code: 'ENOTFOUND' }));
      return Promise.resolve(answer);
    },
  };
});

// A throwaway self-signed certificate for `localhost` (2000-2100), made for this test only.
const TLS_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgTnOO0EiaYj3Cn9eS
fKPFnTeIrOXopqVmTeLs3vweuJWhRANCAATpqr9wfee11GjtX0Z512CvvsuzFEV3
gyGFLrWHn7nGPKmof2wC9DYOeOIpHK6o02/t0obmkfpoZxXN/KBL0cme
-----END PRIVATE KEY-----
`;
const TLS_CERT = `-----BEGIN CERTIFICATE-----
MIIBXjCCAQSgAwIBAgIBATAKBggqhkjOPQQDAjAUMRIwEAYDVQQDDAlsb2NhbGhv
c3QwIBcNMDAwMTAxMDAwMDAwWhgPMjEwMDAxMDEwMDAwMDBaMBQxEjAQBgNVBAMM
CWxvY2FsaG9zdDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABOmqv3B957XUaO1f
RnnXYK++y7MURXeDIYUutYefucY8qah/bAL0Ng544ikcrqjTb+3ShuaR+mhnFc38
oEvRyZ6jRTBDMBQGA1UdEQQNMAuCCWxvY2FsaG9zdDAMBgNVHRMBAf8EAjAAMB0G
A1UdDgQWBBS1Hn134j31pAwlVpVavSHeyqrRdTAKBggqhkjOPQQDAgNIADBFAiB+
HzYAACvbnsG7cnOKIQeGoK2Sd5kT3q3hMAb1YWthIgIhAMiyy5WZkCUGb3a4hIcw
YCbI574owuJHZiTeY94XG2Rz
-----END CERTIFICATE-----
`;

/** What the receiver saw of one request. */
interface Received {
  method: string | undefined;
  url: string | undefined;
  headers: IncomingHttpHeaders;
  body: string;
}

interface Receiver {
  port: number;
  requests: Received[];
  /** Every connection accepted, to assert on what became of it. */
  sockets: Socket[];
}

const servers: Server[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A receiver on 127.0.0.1 that records each request (body read in full) before `answer` handles it. */
async function receiver(
  answer: (response: ServerResponse, request: IncomingMessage) => void,
  server: Server = createHttpServer(),
): Promise<Receiver> {
  const requests: Received[] = [];
  const sockets: Socket[] = [];
  server.on('connection', (socket: Socket) => {
    // The sender destroys connections it is done with; a write of the receiver's (a trickling body)
    // may then meet a reset, which is expected here, not an unhandled error (seen once under load).
    socket.on('error', () => {});
    sockets.push(socket);
  });
  server.on('secureConnection', (socket: Socket) => sockets.push(socket));
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const { method, url, headers } = request;
      requests.push({ method, url, headers, body: Buffer.concat(chunks).toString('utf8') });
      answer(response, request);
    });
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as AddressInfo).port, requests, sockets };
}

/** Resolves when `socket` has closed, or fails the test after `withinMs`. */
async function closedWithin(socket: Socket, withinMs: number): Promise<void> {
  if (socket.destroyed) return;
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    once(socket, 'close').then(() => 'closed'),
    new Promise((resolve) => (timer = setTimeout(resolve, withinMs, 'still open'))),
  ]);
  clearTimeout(timer);
  expect(outcome).toBe('closed');
}

const OPEN: WebhookSenderOptions = {
  timeoutMs: 5000,
  maxResponseBytes: 64 * 1024,
  policy: { allowPrivateNetworks: true },
};
const post = (url: string, body = '{}', headers: Record<string, string> = {}) => ({ url, headers, body });

/** A port nothing listens on: one just closed. */
async function closedPort(): Promise<number> {
  const server = createHttpServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('WebhookSender', () => {
  it('POSTs the exact body and headers, and a 2xx is ok', async () => {
    const hook = await receiver((response) => response.writeHead(204).end());
    const body = JSON.stringify({ type: 'association.linked', data: { provider: 'google', name: 'Zoë' } });
    const result = await new WebhookSender(OPEN).send(
      post(`http://127.0.0.1:${hook.port}/hooks/in?team=7`, body, {
        'Webhook-Id': 'msg_1',
        'Webhook-Signature': 'v1,abc=',
      }),
    );
    expect(result).toEqual({ ok: true, statusCode: 204, durationMs: expect.any(Number) });
    expect(hook.requests).toHaveLength(1);
    const [received] = hook.requests;
    expect(received).toMatchObject({ method: 'POST', url: '/hooks/in?team=7', body });
    expect(received.headers).toMatchObject({
      host: `127.0.0.1:${hook.port}`,
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      'user-agent': 'social-associations-webhooks/1',
      'webhook-id': 'msg_1',
      'webhook-signature': 'v1,abc=',
    });
  });

  it('connects to the address it checked, with Host still the URL name; callers cannot replace its own headers', async () => {
    const hook = await receiver((response) => response.writeHead(200).end('ok'));
    const result = await new WebhookSender(OPEN).send(
      post(`http://pinned.test:${hook.port}/`, '{"a":1}', {
        Host: 'other.example',
        'content-length': '1',
        'Content-Type': 'text/plain',
        'Transfer-Encoding': 'chunked',
        'X-Extra': 'kept',
      }),
    );
    expect(result).toMatchObject({ ok: true, statusCode: 200 });
    expect(hook.requests[0].headers).toMatchObject({
      host: `pinned.test:${hook.port}`,
      'content-type': 'application/json',
      'content-length': '7',
      'x-extra': 'kept',
    });
    expect(hook.requests[0].headers['transfer-encoding']).toBeUndefined();
    expect(hook.requests[0].body).toBe('{"a":1}');
  });

  it('reports other statuses as HTTP <code>', async () => {
    const hook = await receiver((response) => {
      response.writeHead(response.req.url === '/gone' ? 410 : 500);
      // A refusal's body is not waited for: this one never ends.
      response.write('x');
    });
    const sender = new WebhookSender(OPEN);
    await expect(sender.send(post(`http://127.0.0.1:${hook.port}/`))).resolves.toEqual({
      ok: false,
      statusCode: 500,
      error: 'HTTP 500',
      durationMs: expect.any(Number),
    });
    await expect(sender.send(post(`http://127.0.0.1:${hook.port}/gone`))).resolves.toMatchObject({
      ok: false,
      statusCode: 410,
      error: 'HTTP 410',
    });
  });

  it('does not follow redirects', async () => {
    const target = await receiver((response) => response.writeHead(200).end());
    const hook = await receiver((response) =>
      response.writeHead(302, { Location: `http://127.0.0.1:${target.port}/elsewhere` }).end(),
    );
    const result = await new WebhookSender(OPEN).send(post(`http://127.0.0.1:${hook.port}/`));
    expect(result).toMatchObject({ ok: false, statusCode: 302, error: 'redirect not followed (HTTP 302)' });
    expect(target.sockets).toHaveLength(0);
  });

  it('times out a receiver that never answers, and closes the connection', async () => {
    const hook = await receiver(() => {});
    const started = performance.now();
    const result = await new WebhookSender({ ...OPEN, timeoutMs: 300 }).send(post(`http://127.0.0.1:${hook.port}/`));
    const elapsed = performance.now() - started;
    expect(result).toMatchObject({ ok: false, statusCode: null, error: 'timeout after 300 ms' });
    expect(elapsed).toBeGreaterThanOrEqual(295);
    expect(elapsed).toBeLessThan(800);
    expect(hook.requests).toHaveLength(1);
    await closedWithin(hook.sockets[0], 2000);
  });

  it('times out a body that trickles forever, keeping the status', async () => {
    const hook = await receiver((response) => {
      response.writeHead(200);
      const drip = setInterval(() => response.write('.'), 20);
      response.on('close', () => clearInterval(drip));
    });
    const started = performance.now();
    const result = await new WebhookSender({ ...OPEN, timeoutMs: 300 }).send(post(`http://127.0.0.1:${hook.port}/`));
    expect(performance.now() - started).toBeLessThan(800);
    expect(result).toMatchObject({ ok: false, statusCode: 200, error: 'timeout after 300 ms' });
    await closedWithin(hook.sockets[0], 2000);
  });

  it('times out a host name lookup that never answers', async () => {
    const started = performance.now();
    const result = await new WebhookSender({ ...OPEN, timeoutMs: 300 }).send(post('http://hang.test/'));
    expect(performance.now() - started).toBeLessThan(800);
    expect(result).toMatchObject({ ok: false, statusCode: null, error: 'timeout after 300 ms' });
  });

  it('reads a huge body only up to the cap, then closes the connection', async () => {
    const total = 50 * 1024 * 1024;
    let written = 0;
    let finished = (): void => {};
    const writerDone = new Promise<void>((resolve) => (finished = resolve));
    const hook = await receiver((response) => {
      response.writeHead(200, { 'Content-Length': total });
      const chunk = Buffer.alloc(64 * 1024, 'a');
      // Writes as fast as the connection takes them, counting what was accepted.
      const pump = (): void => {
        while (written < total && !response.destroyed) {
          written += chunk.length;
          if (!response.write(chunk)) return void response.once('drain', pump);
        }
      };
      response.on('close', finished);
      pump();
    });
    const started = performance.now();
    const result = await new WebhookSender({ ...OPEN, maxResponseBytes: 64 * 1024 }).send(
      post(`http://127.0.0.1:${hook.port}/`),
    );
    expect(result).toMatchObject({ ok: true, statusCode: 200 });
    expect(performance.now() - started).toBeLessThan(3000);
    await writerDone;
    // Socket buffers take a few MB at most; the other ~45 MB were never sent.
    expect(written).toBeLessThan(total / 2);
  });

  it('is ok once the cap is read, even when the body goes on', async () => {
    const hook = await receiver((response) => {
      response.writeHead(200);
      response.write('x'.repeat(100));
    });
    const started = performance.now();
    const result = await new WebhookSender({ ...OPEN, maxResponseBytes: 100 }).send(
      post(`http://127.0.0.1:${hook.port}/`),
    );
    expect(result).toMatchObject({ ok: true, statusCode: 200 });
    expect(performance.now() - started).toBeLessThan(2000);
    await closedWithin(hook.sockets[0], 2000);
  });

  it('fails when the connection closes before the body ends', async () => {
    const hook = await receiver((response) => {
      response.writeHead(200, { 'Content-Length': 100 });
      response.write('x'.repeat(10), () => response.socket?.destroy());
    });
    const result = await new WebhookSender(OPEN).send(post(`http://127.0.0.1:${hook.port}/`));
    expect(result).toMatchObject({ ok: false, statusCode: 200, error: expect.stringMatching(/^connection closed/) });
  });

  it('reports a refused connection', async () => {
    const port = await closedPort();
    const result = await new WebhookSender(OPEN).send(post(`http://127.0.0.1:${port}/`));
    expect(result).toMatchObject({ ok: false, statusCode: null, error: 'connection refused' });
  });

  it('reports a name that does not resolve', async () => {
    const result = await new WebhookSender(OPEN).send(post('https://nxdomain.test/'));
    expect(result).toMatchObject({ ok: false, statusCode: null, error: 'host name does not resolve (ENOTFOUND)' });
  });

  it('without allowPrivateNetworks, refuses private targets before any connection', async () => {
    const hook = await receiver((response) => response.writeHead(200).end());
    const strict = new WebhookSender({ ...OPEN, policy: { allowPrivateNetworks: false } });
    await expect(strict.send(post(`http://127.0.0.1:${hook.port}/`))).resolves.toMatchObject({
      ok: false,
      statusCode: null,
      error: 'refused: url must use https',
    });
    await expect(strict.send(post(`https://127.0.0.1:${hook.port}/`))).resolves.toMatchObject({
      error: 'refused: url must not point to a private, loopback or reserved address',
    });
    await expect(strict.send(post(`https://localhost:${hook.port}/`))).resolves.toMatchObject({
      error: 'refused: url must not point to localhost or a .local or .internal host',
    });
    // A name that passes the URL check but resolves to a private address (DNS rebinding).
    await expect(strict.send(post(`https://pinned.test:${hook.port}/`))).resolves.toMatchObject({
      ok: false,
      statusCode: null,
      error: 'refused: resolves to a private address (127.0.0.1)',
    });
    expect(hook.sockets).toHaveLength(0);
  });

  it('sends the URL name as TLS server name and verifies the certificate', async () => {
    const names: string[] = [];
    const context = createSecureContext({ key: TLS_KEY, cert: TLS_CERT });
    const server = createHttpsServer({
      key: TLS_KEY,
      cert: TLS_CERT,
      SNICallback: (name, callback) => {
        names.push(name);
        callback(null, context);
      },
    });
    server.on('tlsClientError', () => {}); // the client's refusal of the certificate
    const hook = await receiver((response) => response.writeHead(200).end(), server);
    const result = await new WebhookSender(OPEN).send(post(`https://pinned.test:${hook.port}/`));
    // Self-signed: refused, so the certificate was checked, and before any request was sent.
    // Node 24 adds a hint after the reason (--use-system-ca).
    expect(result).toMatchObject({
      ok: false,
      statusCode: null,
      error: expect.stringMatching(/^TLS: self-signed certificate/),
    });
    expect(names).toEqual(['pinned.test']);
    expect(hook.requests).toHaveLength(0);
  });

  it('stops when the signal aborts, or before anything when it already has', async () => {
    const hook = await receiver(() => {});
    const sender = new WebhookSender(OPEN);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = performance.now();
    const result = await sender.send(post(`http://127.0.0.1:${hook.port}/`), controller.signal);
    expect(performance.now() - started).toBeLessThan(1500);
    expect(result).toMatchObject({ ok: false, statusCode: null, error: 'aborted' });
    await closedWithin(hook.sockets[0], 2000);

    const idle = await receiver(() => {});
    const aborted = await sender.send(post(`http://127.0.0.1:${idle.port}/`), AbortSignal.abort());
    expect(aborted).toMatchObject({ ok: false, statusCode: null, error: 'aborted' });
    expect(idle.sockets).toHaveLength(0);
  });

  it('never throws: a header Node refuses is a failed result', async () => {
    const hook = await receiver((response) => response.writeHead(200).end());
    const result = await new WebhookSender(OPEN).send(
      post(`http://127.0.0.1:${hook.port}/`, '{}', { 'X-Bad': 'a\r\nInjected: 1' }),
    );
    expect(result).toMatchObject({ ok: false, statusCode: null, error: expect.stringMatching(/^ERR_INVALID_CHAR/) });
    expect(hook.sockets).toHaveLength(0);
  });

  it('leaves no timer behind', async () => {
    const hook = await receiver(() => {});
    const timers = (): number => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
    const before = timers();
    const sender = new WebhookSender({ ...OPEN, timeoutMs: 200 });
    await sender.send(post(`http://127.0.0.1:${hook.port}/`)); // the deadline
    await sender.send(post('https://nxdomain.test/')); // DNS
    await sender.send(post(`http://127.0.0.1:${await closedPort()}/`)); // connection
    await sender.send(post('https://pinned.test/'), AbortSignal.abort()); // the caller
    // At most: timers of earlier tests' servers may have ended meanwhile, none of the sender's may remain.
    expect(timers()).toBeLessThanOrEqual(before);
  });

  it('refuses nonsensical options at construction', () => {
    expect(() => new WebhookSender({ ...OPEN, timeoutMs: 0 })).toThrow(RangeError);
    expect(() => new WebhookSender({ ...OPEN, maxResponseBytes: -1 })).toThrow(RangeError);
  });
});
