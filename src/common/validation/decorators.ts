import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import {
  IsInt,
  isEmail,
  IsString,
  Matches,
  Max,
  Min,
  ValidateBy,
  ValidateIf,
  ValidationOptions,
} from 'class-validator';
import { MAX_ID, parseId } from './ids';

/**
 * Optional, but not nullable: skips validation only when the field is absent.
 * (class-validator's IsOptional also lets `null` through, which these fields don't accept.)
 */
export function IsOmittable(): PropertyDecorator {
  return ValidateIf((_object: object, value: unknown) => value !== undefined);
}

export const PROVIDER_SLUG = /^[a-z0-9][a-z0-9_-]{0,31}$/;

/** True for text that PostgreSQL stores as given: well-formed UTF-16, no control characters. */
export function isPlainText(value: unknown): value is string {
  return typeof value === 'string' && value.isWellFormed() && !/\p{Cc}/u.test(value);
}

/** A string without control characters or lone surrogates (which no database column accepts intact). */
export function IsPlainText(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy({ name: 'isPlainText', validator: { validate: isPlainText } }, options);
}

/**
 * An email address, by validator.js's rules. Text with lone surrogates is refused
 * before those rules see it: validator.js's isEmail throws on it (URIError), which
 * would surface as a 500.
 */
export function IsEmailAddress(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    { name: 'isEmailAddress', validator: { validate: (value: unknown) => isPlainText(value) && isEmail(value) } },
    options,
  );
}

/** `provider`: a lowercase slug such as `google`, `azure-ad`, `external`. */
export function IsProviderSlug(): PropertyDecorator {
  const message = 'provider must be a lowercase slug of 1 to 32 characters (a-z, 0-9, _ and -), e.g. google';
  return applyDecorators(IsString({ message }), Matches(PROVIDER_SLUG, { message }));
}

/**
 * Text that shows as what it is: no Unicode format characters (bidi controls such
 * as U+202E, zero-width characters, the BOM, the soft hyphen: category Cf) and no
 * leading or trailing whitespace. Two identities that an admin dashboard would
 * show alike must not both be linkable. Other look-alikes are left alone on
 * purpose: an id is stored as given, code point by code point, with no Unicode
 * normalization (NFC and NFD spellings of one name are two identities, as they
 * are two ids at the provider).
 */
export function isUnambiguousText(value: unknown): boolean {
  return typeof value === 'string' && !/\p{Cf}/u.test(value) && !/^\s|\s$/u.test(value);
}

const EXT_ID_MESSAGE =
  'ext_id must be a string of 1 to 255 characters without control characters, or a non-negative integer';
const NEW_EXT_ID_MESSAGE =
  'ext_id must be a string of 1 to 255 characters without control or invisible formatting characters (bidi controls, zero-width characters, a BOM) and without leading or trailing spaces, or a non-negative integer';

/**
 * `ext_id` of a new link (and a user's `ext_id` at sign-up): the rules of IsExtId,
 * and unambiguous text (see isUnambiguousText).
 */
export function IsNewExtId(): PropertyDecorator {
  return applyDecorators(
    IsExtId(NEW_EXT_ID_MESSAGE),
    ValidateBy(
      { name: 'isUnambiguousText', validator: { validate: isUnambiguousText } },
      { message: NEW_EXT_ID_MESSAGE },
    ),
  );
}

/**
 * `ext_id`: 1..255 characters, no control characters. A JSON number that is a
 * non-negative safe integer is accepted and normalized to its decimal string,
 * because the official client sends numbers. Naming an existing link (delete,
 * resolve), so that a link stored before the stricter rules of IsNewExtId can
 * still be found and removed.
 */
export function IsExtId(message = EXT_ID_MESSAGE): PropertyDecorator {
  return applyDecorators(
    Transform(({ value }: { value: unknown }) =>
      typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? String(value) : value,
    ),
    IsString({ message }),
    IsPlainText({ message }),
    // Code points, as PostgreSQL's varchar(255) counts them (MaxLength discounts U+FE0F & co.).
    ValidateBy(
      { name: 'extIdLength', validator: { validate: (value: unknown) => isLengthInCodePoints(value, 1, 255) } },
      { message },
    ),
  );
}

/** Length in Unicode code points, the unit of PostgreSQL's varchar(n) limit. */
function isLengthInCodePoints(value: unknown, min: number, max: number): boolean {
  if (typeof value !== 'string') return false;
  const length = [...value].length;
  return length >= min && length <= max;
}

/** A positive int32 id, given as a number or as decimal digits (query strings, the official client's strings). */
export function IsId(field: string): PropertyDecorator {
  const message = `${field} must be a positive integer (1 to 2147483647)`;
  return applyDecorators(
    Transform(({ value }: { value: unknown }) => parseId(value) ?? value),
    IsInt({ message }),
    // Integers out of range (0, -1, 2147483648) are left as they are by the transform.
    Min(1, { message }),
    Max(MAX_ID, { message }),
  );
}
