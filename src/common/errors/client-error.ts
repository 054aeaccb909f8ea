import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { securityHeadersFor } from '../http/security-headers';
import { REQUEST_ID_HEADER } from '../http/request-id';
import { ErrorCode, STATUS_BY_CODE } from './domain-error';
import { PROBLEM_CONTENT_TYPE, ProblemBody } from './problem';

const BY_ERROR_CODE: Record<string, { code: ErrorCode; detail: string }> = {
  ERR_HTTP_REQUEST_TIMEOUT: { code: 'request_timeout', detail: 'The request took too long to arrive' },
  HPE_HEADER_OVERFLOW: { code: 'headers_too_large', detail: 'The request headers are too large' },
};
const MALFORMED: { code: ErrorCode; detail: string } = {
  code: 'invalid',
  detail: 'The request is not valid HTTP (request line or headers)',
};

/**
 * Requests Node's HTTP parser refuses before any route sees them (a byte that has
 * no place in a request line or header, an oversized header block, a timeout):
 * there is no request object, so the answer is written on the socket, still as
 * problem+json with the security headers and a request id, then the connection
 * closes. (Fastify's default answers these with a JSON shape of its own.)
 */
export function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  if (socket.writable) {
    const { code, detail } = (error.code && BY_ERROR_CODE[error.code]) || MALFORMED;
    const status = STATUS_BY_CODE[code];
    const requestId = randomUUID();
    const body: ProblemBody = {
      type: 'about:blank',
      title: STATUS_CODES[status] ?? 'Error',
      status,
      detail,
      // The target could not be read: the empty reference, "this document".
      instance: '',
      errors: [{ code, message: detail }],
      request_id: requestId,
    };
    const payload = JSON.stringify(body);
    const headers = {
      ...securityHeadersFor(''),
      [REQUEST_ID_HEADER]: requestId,
      'content-type': PROBLEM_CONTENT_TYPE,
      'content-length': String(Buffer.byteLength(payload)),
      connection: 'close',
    };
    const head = Object.entries(headers)
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('');
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${head}\r\n${payload}`);
  }
  socket.destroy(error);
}
