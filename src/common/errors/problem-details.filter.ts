import {
  ArgumentsHost,
  Catch,
  ExceptionFilter,
  HttpException,
  HttpStatus,
  Inject,
  Logger,
  Optional,
} from '@nestjs/common';
import { STATUS_CODES } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { codeForStatus, DomainError, ErrorCode, STATUS_BY_CODE } from './domain-error';
import { ERROR_TRANSLATORS, ErrorTranslator } from './error-translator';
import { FieldValidationError, PROBLEM_CONTENT_TYPE, ProblemBody, ProblemError } from './problem';

export interface Problem {
  status: number;
  detail: string;
  errors: ProblemError[];
}

/** A problem with one non-field error: its code decides the status. */
export function problemOf(code: ErrorCode, detail: string): Problem {
  return { status: STATUS_BY_CODE[code], detail, errors: [{ code, message: detail }] };
}

/**
 * The single exception filter: every error leaves as application/problem+json with
 * the `errors` array SelfCommunity clients read. Errors of the layers below
 * (database) arrive translated (ERROR_TRANSLATORS). Unknown errors become a 500
 * that is logged with its stack and answered without it.
 */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('ProblemDetails');

  constructor(@Optional() @Inject(ERROR_TRANSLATORS) private readonly translators: readonly ErrorTranslator[] = []) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    sendProblem(request, reply, this.toProblem(exception, request));
  }

  private toProblem(exception: unknown, request: FastifyRequest): Problem {
    if (exception instanceof FieldValidationError) {
      return {
        status: HttpStatus.BAD_REQUEST,
        detail: exception.message,
        errors: exception.fieldErrors.map(({ field, code, message }) => ({ field, messages: [{ code, message }] })),
      };
    }
    if (exception instanceof DomainError) return fromDomainError(exception);
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      // Nest's "Cannot GET /path?query" for unknown routes would echo the query string (it may hold secrets).
      const detail =
        status === 404 && exception.message.startsWith('Cannot ')
          ? `No route ${request.method} ${pathOf(request.url)}`
          : httpExceptionDetail(exception);
      return { status, detail, errors: [{ code: codeForStatus(status), message: detail }] };
    }
    for (const translate of this.translators) {
      const translated = translate(exception);
      if (!translated) continue;
      if (translated.status >= 500) {
        this.logger.warn({ msg: translated.message, reqId: request.id, err: String(exception) });
      }
      return fromDomainError(translated);
    }
    this.logger.error({ msg: 'unhandled error', reqId: request.id, err: exception });
    return problemOf('server_error', `An unexpected error occurred; quote request id ${request.id} when reporting it`);
  }
}

function fromDomainError(error: DomainError): Problem {
  const item = { code: error.code, message: error.message };
  return {
    status: error.status,
    detail: error.message,
    errors: [error.field ? { field: error.field, messages: [item] } : item],
  };
}

function httpExceptionDetail(exception: HttpException): string {
  const response = exception.getResponse();
  if (typeof response === 'string') return response;
  const message = (response as { message?: unknown }).message;
  if (typeof message === 'string') return message;
  if (Array.isArray(message)) return message.join('; ');
  return exception.message;
}

/** The URL without its query string (which may hold secrets). */
function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/** Writes a problem body; shared with the Fastify error handler for errors raised before Nest routing. */
export function sendProblem(request: FastifyRequest, reply: FastifyReply, problem: Problem): void {
  const body: ProblemBody = {
    type: 'about:blank',
    title: STATUS_CODES[problem.status] ?? 'Error',
    status: problem.status,
    detail: problem.detail,
    instance: pathOf(request.url),
    errors: problem.errors,
    request_id: String(request.id),
  };
  if (problem.status === 401) reply.header('WWW-Authenticate', 'Bearer');
  // Sent as the JSON text: Fastify sends a string as it is, without its serializer's per-reply work.
  void reply.status(problem.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(body));
}
