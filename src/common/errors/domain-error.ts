import { HttpStatus } from '@nestjs/common';

/**
 * What went wrong, said by a service in domain terms. The filter decides how HTTP
 * says it, through STATUS_BY_CODE: the one table from code to status.
 */
export const STATUS_BY_CODE = {
  // The contract's one code for a missing user or association; `detail` says which.
  not_found: HttpStatus.NOT_FOUND,
  already_linked: HttpStatus.CONFLICT,
  username_taken: HttpStatus.CONFLICT,
  last_sign_in_method: HttpStatus.CONFLICT,
  too_many_associations: HttpStatus.CONFLICT,
  user_id_mismatch: HttpStatus.BAD_REQUEST,
  provider_not_allowed: HttpStatus.BAD_REQUEST,
  invalid_field: HttpStatus.BAD_REQUEST,
  too_many_concurrent_requests: HttpStatus.TOO_MANY_REQUESTS,
  service_unavailable: HttpStatus.SERVICE_UNAVAILABLE,
} as const satisfies Record<string, HttpStatus>;

export type DomainErrorCode = keyof typeof STATUS_BY_CODE;

/**
 * An expected failure, answered as a 4xx: it is never debugged, so it is built
 * without a stack trace (as withoutStackTrace does; a constructor cannot call it before super).
 */
export class DomainError extends Error {
  readonly code: DomainErrorCode;
  /** The request field the error is about, when there is one (becomes `errors[].field`). */
  readonly field?: string;

  constructor(code: DomainErrorCode, message: string, field?: string) {
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = stackTraceLimit;
    this.name = 'DomainError';
    this.code = code;
    this.field = field;
  }

  get status(): HttpStatus {
    return STATUS_BY_CODE[this.code];
  }
}
