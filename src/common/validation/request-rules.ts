import { ValidateBy } from 'class-validator';
import { epochMicros } from './date-time';

/**
 * The validation group of request rules: which fields must, or must not, come
 * together. AppValidationPipe checks them once every field is valid on its own,
 * so a 400 names either the invalid fields or the one broken rule, as it did when
 * these rules lived in the service.
 */
export const REQUEST_RULES = 'request-rules';

/** The `errors[].messages[].code` of a broken rule (the pipe reads it from the validator's context). */
export type RuleCode = 'required' | 'conflict' | 'invalid';

type Fields = Record<string, unknown>;

function requestRule(
  name: string,
  code: RuleCode,
  message: string,
  constraints: string[],
  validate: (value: unknown, object: Fields) => boolean,
): PropertyDecorator {
  return ValidateBy(
    { name, constraints, validator: { validate: (value, args) => validate(value, (args?.object ?? {}) as Fields) } },
    { message, groups: [REQUEST_RULES], context: { code } },
  );
}

/** The field must be given (`required`). */
export function IsPresent(message: string): PropertyDecorator {
  return requestRule('isPresent', 'required', message, [], (value) => value !== undefined);
}

/**
 * The field may not come with any of `siblings` (`conflict`): two ways of saying
 * what the request means, of which a client must choose one. Immich's
 * `IsNotSiblingOf` (immich-app/immich server/src/validation.ts), for this pipe.
 */
export function IsNotSiblingOf(siblings: string[], message: string): PropertyDecorator {
  return requestRule(
    'isNotSiblingOf',
    'conflict',
    message,
    siblings,
    (value, object) => value === undefined || siblings.every((sibling) => object[sibling] === undefined),
  );
}

/**
 * The field must be given when `sibling` is (`required`), unless one of `unless`
 * is: the request then means something else, and that field's own rule answers.
 */
export function IsRequiredWith(sibling: string, message: string, unless: string[] = []): PropertyDecorator {
  return requestRule(
    'isRequiredWith',
    'required',
    message,
    [sibling, ...unless],
    (value, object) =>
      value !== undefined || object[sibling] === undefined || unless.some((field) => object[field] !== undefined),
  );
}

/**
 * A date-time window's end: later than `start` when both are given (`invalid`).
 * Compared to the microsecond, as PostgreSQL will (see epochMicros).
 */
export function IsLaterThan(start: string, message: string): PropertyDecorator {
  return requestRule('isLaterThan', 'invalid', message, [start], (value, object) => {
    const from = object[start];
    return typeof value !== 'string' || typeof from !== 'string' || epochMicros(value) > epochMicros(from);
  });
}
