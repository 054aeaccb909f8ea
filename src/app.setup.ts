import { BadRequestException } from '@nestjs/common';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { isUtf8 } from 'node:buffer';
import { FastifyBaseLogger, FastifyError, FastifyReply, FastifyRequest, LogController } from 'fastify';
import type { Logger } from 'pino';
import { AppConfig } from './config/app-config';
import { REQUEST_ID_HEADER, requestIdFor } from './common/http/request-id';
import { CountsRequests } from './common/http/request-count';
import { releaseTurnsWhenHandled } from './common/http/concurrency-limit.guard';
import { corsOptions, securityHeadersFor } from './common/http/security-headers';
import { httpServerOptions, limitConnections } from './common/http/connection-limits';
import { answerClientError } from './common/errors/client-error';
import { problemOf, sendProblem } from './common/errors/problem-details.filter';
import { setupOpenApi } from './openapi/openapi';

/** One log line per request, written when it completes: no headers, so never the token. */
class RequestLogController extends LogController {
  /** Known once: the level does not change at run time, and below it the line is not even built. */
  constructor(private readonly enabled: boolean) {
    super();
  }

  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (!this.enabled) return;
    request.log.info({
      reqId: request.id,
      method: request.method,
      // The route pattern, not the URL: no ids or query values in this field.
      route: request.routeOptions.url ?? 'unmatched',
      status: reply.statusCode,
      duration_ms: Math.round(reply.elapsedTime * 100) / 100,
      ...(error ? { err: error.message } : {}),
    });
  }
}

/** True when the header list (name, value, name, value, ...) names Authorization more than once. */
function hasRepeatedAuthorization(rawHeaders: string[]): boolean {
  let seen = false;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i];
    if (name.length === 13 && name.toLowerCase() === 'authorization') {
      if (seen) return true;
      seen = true;
    }
  }
  return false;
}

/** The security headers and the request id, on every response. */
function setCommonHeaders(request: FastifyRequest, reply: FastifyReply): void {
  void reply.headers(securityHeadersFor(request.url)).header(REQUEST_ID_HEADER, request.id);
}

/**
 * Knows when Nest starts to shut down (before the listener closes), so requests can be
 * turned away, and how many requests came in (webhook delivery gives way to them).
 */
class AppFastifyAdapter extends FastifyAdapter implements CountsRequests {
  draining = false;
  requestsReceived = 0;

  override beforeClose(): void {
    this.draining = true;
    super.beforeClose();
  }
}

/**
 * The Fastify instance behind Nest: request ids, body limit, trailing slashes, one
 * log line per request, security headers, and a 503 for requests that arrive
 * while the application shuts down.
 */
export function createFastifyAdapter(config: AppConfig, logger: Logger): FastifyAdapter {
  const adapter = new AppFastifyAdapter({
    loggerInstance: logger,
    logController: new RequestLogController(logger.isLevelEnabled('info')),
    // request.log is the application logger itself, not a child made per request (pino
    // serializes a child's bindings when it is made): every line we log about a request
    // names its reqId explicitly.
    childLoggerFactory: (parent: FastifyBaseLogger) => parent,
    genReqId: requestIdFor,
    bodyLimit: config.http.bodyLimitBytes,
    // A request must arrive within its time (slowloris, stalled bodies): past it, 408 and close.
    requestTimeout: config.http.requestTimeoutMs,
    http: httpServerOptions(config.http.requestTimeoutMs),
    // request.ip: X-Forwarded-For only when it comes from a configured proxy, else the peer.
    trustProxy: config.http.trustProxy.length > 0 ? [...config.http.trustProxy] : false,
    routerOptions: { ignoreTrailingSlash: true },
    // Off, because the hook below answers those requests itself, as problem+json.
    return503OnClosing: false,
    // Requests the HTTP parser refuses (see answerClientError): problem+json too.
    clientErrorHandler: answerClientError,
    // Errors Fastify raises before routing (bad percent-encoding, a path parameter
    // longer than maxParamLength): problem+json like every other error, not Fastify's JSON.
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      // Sent before routing, so without the hooks below.
      setCommonHeaders(request, reply);
      const problem =
        error.code === 'FST_ERR_ASYNC_CONSTRAINT'
          ? problemOf('server_error', 'An unexpected error occurred')
          : problemOf('invalid', 'The request URL is malformed');
      sendProblem(request, reply, problem);
    },
  });
  const fastify = adapter.getInstance();
  limitConnections(fastify.server, config.db.poolSize);
  // Every route registered from here on (all of Nest's) gives back its request's concurrency turn.
  fastify.addHook('onRoute', releaseTurnsWhenHandled);
  // Hooks in callback style: Fastify then has no promise to await per request and hook.
  fastify.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    adapter.requestsReceived++;
    if (adapter.draining) {
      // Shutting down: requests already running finish, new ones go elsewhere.
      sendProblem(request, reply, problemOf('service_unavailable', 'The service is shutting down; retry the request'));
      return; // answered: the remaining hooks and the handler do not run
    }
    if (hasRepeatedAuthorization(request.raw.rawHeaders)) {
      // Node keeps the first and drops the rest; a proxy in front may read the last: two callers.
      sendProblem(request, reply, problemOf('invalid', 'The request has more than one Authorization header'));
      return;
    }
    done();
  });
  // On every answer, whoever sent it (a handler, the error filter, a 404, a CORS
  // preflight answered by its own hook, the 503 above): the security headers and
  // the request id. While shutting down, every answer also closes its connection,
  // so no client sends another request on it.
  fastify.addHook('onSend', (request: FastifyRequest, reply: FastifyReply, _payload: unknown, done: () => void) => {
    setCommonHeaders(request, reply);
    if (adapter.draining) void reply.header('connection', 'close');
    done();
  });
  // JSON only. An empty body counts as no body, so DELETE with a Content-Type
  // header and nothing else falls back to the query string. A body that is not
  // UTF-8 is refused: decoded, its bad bytes would all become U+FFFD, and two
  // different byte strings would name one identity.
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body: Buffer, done) => {
    if (body.length === 0) {
      done(null, undefined);
      return;
    }
    if (!isUtf8(body)) {
      done(new BadRequestException('The request body is not valid UTF-8'), undefined);
      return;
    }
    void parseJson(request, body.toString('utf8'), done);
  });
  return adapter;
}

/** Everything main.ts and the e2e tests must share. */
export function configureApp(app: NestFastifyApplication): void {
  const { http } = app.get(AppConfig);
  if (http.corsOrigins.length > 0) app.enableCors(corsOptions(http));
  // On SIGTERM/SIGINT: new requests get 503 with Connection: close, in-flight ones
  // finish, the listener closes, then the database; the process exits 0.
  app.enableShutdownHooks([], { useProcessExit: true });
  setupOpenApi(app);
}
