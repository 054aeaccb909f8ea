import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { STATUS_CODES } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { QueryFailedError } from 'typeorm';
import { DomainError } from './domain-error';
import { FieldValidationError, PROBLEM_CONTENT_TYPE, ProblemBody, ProblemError } from './problem';
import { isDatabaseUnavailable, isUniqueViolation } from '../../database/database-errors';

/** Codes for non-field errors, by status, when nothing more specific is known. */
const CODE_BY_STATUS: Record<number, string> = {
  400: 'invalid',
  401: 'not_authenticated',
  403: 'permission_denied',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'throttled',
  503: 'service_unavailable',
};

interface Problem {
  status: number;
  detail: string;
  errors: ProblemError[];
}

/**
 * The single exception filter: every error leaves as application/problem+json with
 * the `errors` array SelfCommunity clients read. Unknown errors become a 500 that is
 * logged with its stack and answered without it.
 */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('ProblemDetails');

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
    if (exception instanceof DomainError) {
      const item = { code: exception.code, message: exception.message };
      return {
        status: exception.status,
        detail: exception.message,
        errors: [exception.field ? { field: exception.field, messages: [item] } : item],
      };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      // Nest's "Cannot GET /path?query" for unknown routes would echo the query string (it may hold secrets).
      const detail =
        status === 404 && exception.message.startsWith('Cannot ')
          ? `No route ${request.method} ${request.url.split('?')[0]}`
          : httpExceptionDetail(exception);
      return { status, detail, errors: [{ code: CODE_BY_STATUS[status] ?? 'error', message: detail }] };
    }
    if (exception instanceof QueryFailedError && isUniqueViolation(exception)) {
      const detail = 'The resource conflicts with one that already exists';
      return { status: HttpStatus.CONFLICT, detail, errors: [{ code: 'conflict', message: detail }] };
    }
    if (isDatabaseUnavailable(exception)) {
      this.logger.warn({ msg: 'database unavailable', reqId: request.id, err: String(exception) });
      const detail = 'The service is temporarily unavailable; retry later';
      return {
        status: HttpStatus.SERVICE_UNAVAILABLE,
        detail,
        errors: [{ code: 'service_unavailable', message: detail }],
      };
    }
    this.logger.error({ msg: 'unhandled error', reqId: request.id, err: exception });
    const detail = `An unexpected error occurred; quote request id ${request.id} when reporting it`;
    return { status: HttpStatus.INTERNAL_SERVER_ERROR, detail, errors: [{ code: 'server_error', message: detail }] };
  }
}

function httpExceptionDetail(exception: HttpException): string {
  const response = exception.getResponse();
  if (typeof response === 'string') return response;
  const message = (response as { message?: unknown }).message;
  if (typeof message === 'string') return message;
  if (Array.isArray(message)) return message.join('; ');
  return exception.message;
}

/** Writes a problem body; shared with the Fastify error handler for errors raised before Nest routing. */
export function sendProblem(request: FastifyRequest, reply: FastifyReply, problem: Problem): void {
  const body: ProblemBody = {
    type: 'about:blank',
    title: STATUS_CODES[problem.status] ?? 'Error',
    status: problem.status,
    detail: problem.detail,
    instance: request.url.split('?')[0],
    errors: problem.errors,
    request_id: String(request.id),
  };
  if (problem.status === 401) reply.header('WWW-Authenticate', 'Bearer');
  void reply.status(problem.status).type(PROBLEM_CONTENT_TYPE).send(body);
}
