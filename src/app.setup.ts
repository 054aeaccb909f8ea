import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { FastifyReply, FastifyRequest, LogController } from 'fastify';
import type { Logger } from 'pino';
import { AppConfig } from './config/app-config';
import { REQUEST_ID_HEADER, requestIdFor } from './common/http/request-id';

/** One log line per request, written when it completes: no headers, so never the token. */
class RequestLogController extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    request.log.info({
      method: request.method,
      // The route pattern, not the URL: no ids or query values in this field.
      route: request.routeOptions.url ?? 'unmatched',
      status: reply.statusCode,
      duration_ms: Math.round(reply.elapsedTime * 100) / 100,
      ...(error ? { err: error.message } : {}),
    });
  }
}

/** The Fastify instance behind Nest: request ids, body limit, trailing slashes, one log line per request. */
export function createFastifyAdapter(config: AppConfig, logger: Logger): FastifyAdapter {
  const adapter = new FastifyAdapter({
    loggerInstance: logger,
    logController: new RequestLogController(),
    genReqId: requestIdFor,
    bodyLimit: config.http.bodyLimitBytes,
    routerOptions: { ignoreTrailingSlash: true },
    return503OnClosing: true,
  });
  const fastify = adapter.getInstance();

  fastify.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    void reply.header(REQUEST_ID_HEADER, request.id);
  });
  // JSON only. An empty body counts as no body, so DELETE with a Content-Type
  // header and nothing else falls back to the query string.
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '') {
      done(null, undefined);
      return;
    }
    void parseJson(request, body as string, done);
  });
  return adapter;
}

/** Everything main.ts and the e2e tests must share. */
export function configureApp(app: NestFastifyApplication): void {
  app.enableShutdownHooks();
}
