import { ClientRequest, OutgoingHttpHeaders, request as httpRequest, RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, LookupFunction } from 'node:net';
import { NetworkPolicy, resolveWebhookAddress, WebhookAddressError, webhookUrlProblem } from './network-policy';

export interface WebhookSenderOptions {
  /** The whole attempt: DNS + connect + TLS + response headers + reading the capped body. */
  timeoutMs: number;
  /**
   * Read at most this many bytes of the response body, then stop reading (the socket is
   * destroyed). The last read may end past it by what one socket read returned (64 KB at most).
   */
  maxResponseBytes: number;
  policy: NetworkPolicy;
}

export interface WebhookRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

export type WebhookSendResult =
  | { ok: true; statusCode: number; durationMs: number }
  | { ok: false; statusCode: number | null; error: string; durationMs: number };

const USER_AGENT = 'social-associations-webhooks/1';

/**
 * Headers the sender sets or that belong to the connection: a caller's header of the same
 * name is dropped. A second Host or Content-Length would make the request ambiguous, and
 * https derives the TLS server name from Host when it is not given.
 */
const RESERVED_HEADERS = new Set([
  'host',
  'content-length',
  'content-type',
  'user-agent',
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'expect',
]);

/** Error texts are stored with the delivery attempt: a few words, never a whole stack or certificate dump. */
const MAX_ERROR_LENGTH = 200;

/** How an attempt ended before its request did: the deadline or the caller's signal. */
class AttemptEnded extends Error {}

/** Where a delivery got: the status when a response came, and why it failed when it did. */
interface Outcome {
  statusCode: number | null;
  error?: string;
}

/**
 * POSTs one webhook message to its receiver, safely: the URL and every address its host
 * resolves to are checked at each send (DNS answers change after registration), the
 * connection goes to exactly the address checked, redirects are not followed, and one
 * deadline bounds the whole attempt, body included. Only the status matters: the
 * response body is read up to a cap and discarded.
 */
export class WebhookSender {
  constructor(private readonly options: WebhookSenderOptions) {
    if (!Number.isSafeInteger(options.timeoutMs) || options.timeoutMs <= 0) {
      throw new RangeError('timeoutMs must be a positive integer');
    }
    if (!Number.isSafeInteger(options.maxResponseBytes) || options.maxResponseBytes < 0) {
      throw new RangeError('maxResponseBytes must be a non-negative integer');
    }
  }

  /** Never throws, never rejects: every failure is a result with `ok: false`. */
  async send(request: WebhookRequest, signal?: AbortSignal): Promise<WebhookSendResult> {
    const started = performance.now();
    const { timeoutMs } = this.options;
    // One controller ends everything in flight (DNS wait, socket, body) whichever comes
    // first, the deadline or the caller: its reason is the result's error.
    const attempt = new AbortController();
    const timer = setTimeout(() => attempt.abort(new AttemptEnded(`timeout after ${timeoutMs} ms`)), timeoutMs);
    const onAbort = (): void => attempt.abort(new AttemptEnded('aborted'));
    let outcome: Outcome;
    try {
      signal?.addEventListener('abort', onAbort, { once: true });
      if (signal?.aborted) onAbort();
      outcome = await this.deliver(request, attempt.signal, started);
    } catch (error) {
      outcome = { statusCode: null, error: describeError(error) };
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
    const durationMs = Math.round(performance.now() - started);
    if (outcome.error === undefined && outcome.statusCode !== null) {
      return { ok: true, statusCode: outcome.statusCode, durationMs };
    }
    return { ok: false, statusCode: outcome.statusCode, error: outcome.error ?? 'no response', durationMs };
  }

  private async deliver(request: WebhookRequest, signal: AbortSignal, started: number): Promise<Outcome> {
    const { policy, timeoutMs, maxResponseBytes } = this.options;
    if (signal.aborted) return { statusCode: null, error: endedText(signal) };
    const problem = webhookUrlProblem(request.url, policy);
    if (problem !== null) return { statusCode: null, error: `refused: ${problem}` };
    const url = new URL(request.url);
    const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    let target: { address: string; family: 4 | 6 };
    try {
      const remainingMs = Math.max(1, Math.ceil(timeoutMs - (performance.now() - started)));
      target = await untilEnded(resolveWebhookAddress(hostname, policy, remainingMs), signal);
    } catch (error) {
      if (!(error instanceof WebhookAddressError)) throw error;
      if (error.reason === 'timeout') return { statusCode: null, error: `timeout after ${timeoutMs} ms` };
      return { statusCode: null, error: error.reason === 'forbidden' ? `refused: ${error.message}` : error.message };
    }
    return post(url, hostname, target, request, signal, maxResponseBytes);
  }
}

/** POSTs to `target`, the address already checked; resolves (never rejects) once the outcome is known. */
function post(
  url: URL,
  hostname: string,
  target: { address: string; family: 4 | 6 },
  request: WebhookRequest,
  signal: AbortSignal,
  maxResponseBytes: number,
): Promise<Outcome> {
  const body = Buffer.from(request.body, 'utf8');
  const headers: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (!RESERVED_HEADERS.has(name.toLowerCase())) headers[name] = value;
  }
  Object.assign(headers, {
    'Content-Type': 'application/json',
    'Content-Length': body.length,
    'User-Agent': USER_AGENT,
  });
  const https = url.protocol === 'https:';
  const options: RequestOptions = {
    protocol: url.protocol,
    // The original name, not the address: Host and the certificate check are about it.
    hostname,
    port: url.port === '' ? undefined : Number(url.port),
    path: `${url.pathname}${url.search}`,
    method: 'POST',
    headers,
    // The connection's DNS answer is the address checked above, whatever the resolver says now.
    lookup: pinnedLookup(target),
    // A fresh connection per delivery, closed after it. A keep-alive agent pools sockets by
    // host and port, so a later delivery could reuse a socket opened to an address its host
    // no longer resolves to (or one now refused); receivers are seldom sent to often enough
    // for reuse to save much.
    agent: false,
    ...(https && {
      // SNI and the certificate are checked against the name (never an IP literal as SNI).
      servername: isIP(hostname) === 0 ? hostname : undefined,
      // Explicit, so NODE_TLS_REJECT_UNAUTHORIZED=0 set for something else cannot turn it off here.
      rejectUnauthorized: true,
    }),
  };

  return new Promise<Outcome>((resolve) => {
    let client: ClientRequest;
    try {
      client = (https ? httpsRequest : httpRequest)(options);
    } catch (error) {
      // Invalid header names or values are refused synchronously.
      resolve({ statusCode: null, error: describeError(error) });
      return;
    }
    let statusCode: number | null = null;
    let settled = false;
    const finish = (error?: string): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onEnded);
      // Destroys the socket and the response: nothing more is read, on any path.
      client.destroy();
      resolve(error === undefined ? { statusCode } : { statusCode, error });
    };
    const onEnded = (): void => finish(endedText(signal));

    // The listeners stay attached after finish: the destroy above and a peer's reset may
    // still emit 'error', which must not go unhandled.
    client.on('error', (error) => finish(describeError(error)));
    client.on('response', (response) => {
      // Always set on a client's response (node:http parses the status line before 'response').
      const status = response.statusCode ?? 0;
      statusCode = status;
      response.on('error', () => finish('connection closed while reading the response'));
      response.on('close', () => finish(response.complete ? undefined : 'connection closed before the response ended'));
      if (status < 200 || status >= 300) {
        // The status is the outcome: the body of a refusal is not worth waiting for.
        finish(status >= 300 && status < 400 ? `redirect not followed (HTTP ${status})` : `HTTP ${status}`);
        return;
      }
      if (maxResponseBytes === 0) {
        finish();
        return;
      }
      let received = 0;
      response.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received >= maxResponseBytes) finish();
      });
      response.on('end', () => finish());
    });
    if (signal.aborted) {
      onEnded();
      return;
    }
    signal.addEventListener('abort', onEnded, { once: true });
    client.end(body);
  });
}

/** A lookup answering only `target`, in either of the forms net asks for (`all` with autoSelectFamily). */
function pinnedLookup(target: { address: string; family: 4 | 6 }): LookupFunction {
  return (_hostname, options, callback) => {
    if (options.all) callback(null, [{ address: target.address, family: target.family }]);
    else callback(null, target.address, target.family);
  };
}

/** `promise`, or an AttemptEnded rejection as soon as `signal` aborts. */
function untilEnded<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onEnded = (): void => reject(new AttemptEnded(endedText(signal)));
    signal.addEventListener('abort', onEnded, { once: true });
    void promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onEnded));
  });
}

function endedText(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  return reason instanceof AttemptEnded ? reason.message : 'aborted';
}

/** A failure as a few words for the delivery log. */
function describeError(error: unknown): string {
  if (error instanceof AttemptEnded) return error.message;
  if (!(error instanceof Error)) return 'request failed';
  const code = (error as NodeJS.ErrnoException).code;
  const text = (() => {
    switch (code) {
      case 'ECONNREFUSED':
        return 'connection refused';
      case 'ECONNRESET':
        return 'connection reset';
      case 'EPIPE':
        return 'connection closed while sending';
      case 'ETIMEDOUT':
        return 'connection timed out';
      case 'EHOSTUNREACH':
        return 'host unreachable';
      case 'ENETUNREACH':
        return 'network unreachable';
      case 'HPE_HEADER_OVERFLOW':
        return 'response headers too large';
      default:
        if (code?.startsWith('HPE_')) return `invalid HTTP response (${code})`;
        // OpenSSL's verification codes (DEPTH_ZERO_SELF_SIGNED_CERT, CERT_HAS_EXPIRED...) and Node's TLS errors.
        if (code !== undefined && /CERT|SELF_SIGNED|^ERR_TLS|^ERR_SSL/.test(code)) return `TLS: ${error.message}`;
        return code === undefined ? error.message : `${code}: ${error.message}`;
    }
  })();
  return text.length > MAX_ERROR_LENGTH ? `${text.slice(0, MAX_ERROR_LENGTH - 3)}...` : text;
}
