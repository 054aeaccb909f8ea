/** The contract's error body: RFC 9457 problem details plus SelfCommunity's `errors` array. */
export interface ProblemMessage {
  code: string;
  message: string;
}

/** A field error (`field` + `messages`) or a non-field error (`code` + `message`). */
export type ProblemError = { field: string; messages: ProblemMessage[] } | ProblemMessage;

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  errors: ProblemError[];
  request_id: string;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

/**
 * The most problems one error answer lists (the rest are counted in `detail`): an
 * answer must not grow with what a client sends.
 */
export const MAX_LISTED_PROBLEMS = 20;

/** Thrown by validation (pipe, parsers, guards' input checks): a 400 naming the fields. */
export class FieldValidationError extends Error {
  readonly fieldErrors: { field: string; code: string; message: string }[];

  constructor(fieldErrors: { field: string; code: string; message: string }[]) {
    const listed = fieldErrors.slice(0, MAX_LISTED_PROBLEMS);
    const unlisted = fieldErrors.length - listed.length;
    super(listed.map((e) => e.message).join('; ') + (unlisted > 0 ? `; and ${unlisted} more problems` : ''));
    this.name = 'FieldValidationError';
    this.fieldErrors = listed;
  }

  static of(field: string, message: string, code = 'invalid'): FieldValidationError {
    return new FieldValidationError([{ field, code, message }]);
  }
}
