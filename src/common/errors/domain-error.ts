import { HttpStatus } from '@nestjs/common';
import { ExpectedError } from './without-stack-trace';

/** Every code a non-field error of this service carries (`errors[].code`). */
export type ErrorCode =
  // The contract's one code for a missing user, association or route; `detail` says which.
  | 'not_found'
  | 'already_linked'
  | 'username_taken'
  | 'last_sign_in_method'
  | 'too_many_associations'
  | 'conflict'
  | 'user_id_mismatch'
  | 'provider_not_allowed'
  | 'invalid_field'
  | 'invalid'
  | 'not_authenticated'
  | 'permission_denied'
  | 'method_not_allowed'
  | 'payload_too_large'
  | 'headers_too_large'
  | 'unsupported_media_type'
  | 'request_timeout'
  | 'throttled'
  | 'too_many_concurrent_requests'
  | 'server_error'
  | 'service_unavailable';

/**
 * The one table from code to status. A Record over the ErrorCode union: a code
 * added to the union without its status here does not compile.
 */
export const STATUS_BY_CODE: Record<ErrorCode, number> = {
  not_found: HttpStatus.NOT_FOUND,
  already_linked: HttpStatus.CONFLICT,
  username_taken: HttpStatus.CONFLICT,
  last_sign_in_method: HttpStatus.CONFLICT,
  too_many_associations: HttpStatus.CONFLICT,
  conflict: HttpStatus.CONFLICT,
  user_id_mismatch: HttpStatus.BAD_REQUEST,
  provider_not_allowed: HttpStatus.BAD_REQUEST,
  invalid_field: HttpStatus.BAD_REQUEST,
  invalid: HttpStatus.BAD_REQUEST,
  not_authenticated: HttpStatus.UNAUTHORIZED,
  permission_denied: HttpStatus.FORBIDDEN,
  method_not_allowed: HttpStatus.METHOD_NOT_ALLOWED,
  payload_too_large: HttpStatus.PAYLOAD_TOO_LARGE,
  headers_too_large: 431,
  unsupported_media_type: HttpStatus.UNSUPPORTED_MEDIA_TYPE,
  request_timeout: HttpStatus.REQUEST_TIMEOUT,
  throttled: HttpStatus.TOO_MANY_REQUESTS,
  too_many_concurrent_requests: HttpStatus.TOO_MANY_REQUESTS,
  server_error: HttpStatus.INTERNAL_SERVER_ERROR,
  service_unavailable: HttpStatus.SERVICE_UNAVAILABLE,
};

/** Codes that are the general word for their status: what an HttpException or the HTTP layer's own refusal carries. */
const GENERAL_CODES: readonly ErrorCode[] = [
  'invalid',
  'not_authenticated',
  'permission_denied',
  'not_found',
  'method_not_allowed',
  'request_timeout',
  'conflict',
  'payload_too_large',
  'headers_too_large',
  'unsupported_media_type',
  'throttled',
  'server_error',
  'service_unavailable',
];
const GENERAL_CODE_BY_STATUS = new Map<number, ErrorCode>(GENERAL_CODES.map((code) => [STATUS_BY_CODE[code], code]));

/** The general code of a status ('error' for a status this service never sends on its own). */
export function codeForStatus(status: number): ErrorCode | 'error' {
  return GENERAL_CODE_BY_STATUS.get(status) ?? 'error';
}

/** What went wrong, said by a service in domain terms; the filter says it in HTTP through STATUS_BY_CODE. */
export class DomainError extends ExpectedError {
  readonly code: ErrorCode;
  /** The request field the error is about, when there is one (becomes `errors[].field`). */
  readonly field?: string;

  constructor(code: ErrorCode, message: string, field?: string) {
    super(message);
    this.name = 'DomainError';
    this.code = code;
    this.field = field;
  }

  get status(): number {
    return STATUS_BY_CODE[this.code];
  }
}
