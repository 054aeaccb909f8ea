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

/** Thrown by validation (pipe, parsers, guards' input checks): a 400 naming the fields. */
export class FieldValidationError extends Error {
  constructor(readonly fieldErrors: { field: string; code: string; message: string }[]) {
    super(fieldErrors.map((e) => e.message).join('; '));
    this.name = 'FieldValidationError';
  }

  static of(field: string, message: string, code = 'invalid'): FieldValidationError {
    return new FieldValidationError([{ field, code, message }]);
  }
}
