import { Agent, request as httpRequest } from 'node:http';

export interface RawOutcome {
  status?: number;
  connection?: string;
  body?: string;
  /** The socket error's code (ECONNREFUSED, ECONNRESET, ...) when there was no response. */
  error?: string;
}

/**
 * One request to 127.0.0.1:`port` over node:http, on `agent` (keep-alive) or on a
 * connection of its own; resolves with what happened, never rejects. For tests that
 * watch connections (shutdown, cluster), where fetch's pooling would hide them.
 */
export function sendRaw(
  port: number,
  method: string,
  path: string,
  options: { agent?: Agent; headers?: Record<string, string>; body?: string } = {},
): Promise<RawOutcome> {
  return new Promise((done) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent: options.agent ?? false,
        headers: {
          ...options.headers,
          // With a length: Node sends a DELETE body unframed otherwise.
          ...(options.body !== undefined
            ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(options.body)) }
            : {}),
        },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => done({ status: res.statusCode, connection: res.headers.connection, body }));
        res.on('error', (error: NodeJS.ErrnoException) => done({ error: error.code ?? error.message }));
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) => done({ error: error.code ?? error.message }));
    req.end(options.body);
  });
}
