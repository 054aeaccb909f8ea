import { IncomingMessage, request as httpRequest } from 'node:http';

/** A response being streamed, read as far as its first chunk; `disconnect()` closes the socket, as a client that leaves. */
export interface OpenStream {
  status: number;
  firstChunk: Buffer;
  /** Reads the rest of the body (with the first chunk) as text. */
  rest(): Promise<string>;
  disconnect(): void;
}

/**
 * A GET whose body is read at the test's pace, over a connection of its own
 * (no pooling): `disconnect()` really closes the TCP connection, which is what
 * the server sees when a client goes away.
 */
export function openStream(baseUrl: string, path: string, token: string): Promise<OpenStream> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(`${baseUrl}${path}`, { headers: { authorization: `Bearer ${token}` }, agent: false });
    request.on('error', reject);
    request.on('response', (response: IncomingMessage) => {
      response.once('data', (firstChunk: Buffer) => {
        response.pause();
        resolve({
          status: response.statusCode ?? 0,
          firstChunk,
          disconnect: () => request.destroy(),
          rest: () =>
            new Promise((done, fail) => {
              const chunks: Buffer[] = [firstChunk];
              response.on('data', (chunk: Buffer) => chunks.push(chunk));
              response.on('end', () => done(Buffer.concat(chunks).toString('utf8')));
              response.on('error', fail);
              response.resume();
            }),
        });
      });
    });
    request.end();
  });
}
