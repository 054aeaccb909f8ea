import { HttpStatus } from '@nestjs/common';

/**
 * What went wrong, said by a service in domain terms. The filter decides how HTTP
 * says it, through STATUS_BY_CODE: the one table from code to status.
 */
export const STATUS_BY_CODE = {
  user_not_found: HttpStatus.NOT_FOUND,
  association_not_found: HttpStatus.NOT_FOUND,
  already_linked: HttpStatus.CONFLICT,
  username_taken: HttpStatus.CONFLICT,
  last_sign_in_method: HttpStatus.CONFLICT,
  user_id_mismatch: HttpStatus.BAD_REQUEST,
  provider_not_allowed: HttpStatus.BAD_REQUEST,
  invalid_field: HttpStatus.BAD_REQUEST,
} as const satisfies Record<string, HttpStatus>;

export type DomainErrorCode = keyof typeof STATUS_BY_CODE;

export class DomainError extends Error {
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    /** The request field the error is about, when there is one (becomes `errors[].field`). */
    readonly field?: string,
  ) {
    super(message);
    this.name = 'DomainError';
  }

  get status(): HttpStatus {
    return STATUS_BY_CODE[this.code];
  }
}
