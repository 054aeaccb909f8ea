import type { ApiPropertyOptions, SchemaObject } from '@nestjs/swagger';
import { PROVIDER_SLUG } from '../common/validation/decorators';
import { ID_SCHEMA } from '../common/validation/ids';

/**
 * Schemas of the fields that several DTOs and parameters share, written from the
 * same constants the validators use.
 */
export const OPENAPI_ID = ID_SCHEMA satisfies ApiPropertyOptions;

/**
 * A field schema without its example, for optional query parameters: Swagger UI
 * pre-fills a parameter's example, and a pre-filled filter changes what the request means.
 */
export function withoutExample<T extends { example?: unknown }>(schema: T): Omit<T, 'example'> {
  const { example: _example, ...rest } = schema;
  return rest;
}

export const OPENAPI_USER_ID = { ...OPENAPI_ID, example: 7 } as const satisfies ApiPropertyOptions;

export const OPENAPI_PROVIDER = {
  type: 'string',
  minLength: 1,
  maxLength: 32,
  pattern: PROVIDER_SLUG.source,
  description:
    'Lowercase slug of the provider, e.g. facebook, google, linkedin, twitter, keycloak, azure-ad, github, apple, external. Operators may restrict the set.',
  example: 'google',
} as const satisfies ApiPropertyOptions;

/**
 * Patterns are ECMA-262 regular expressions evaluated with the unicode flag (as JSON
 * Schema 2020-12 and Ajv do), written from the validators' own character classes
 * (src/common/validation/decorators.ts), so that with minLength/maxLength (counted
 * in code points, as the validators count) they accept exactly what the validators
 * accept: src/openapi/schemas.spec.ts checks it.
 *
 * Not a control character (Cc) nor a lone surrogate (Cs, which isWellFormed() refuses).
 */
const PLAIN = '[^\\p{Cc}\\p{Cs}]';
/** Also not a Unicode format character (Cf: bidi controls, zero-width characters, the BOM). */
const UNAMBIGUOUS = '[^\\p{Cc}\\p{Cf}\\p{Cs}]';
/** Also not whitespace (`\s`), which may not start or end a new ext_id. */
const UNAMBIGUOUS_EDGE = '[^\\p{Cc}\\p{Cf}\\p{Cs}\\s]';

/** IsExtId: 1..255 code points without control characters. */
export const EXT_ID_PATTERN = `^${PLAIN}*$`;
/** IsNewExtId: also no format characters, and no whitespace at either end. */
export const NEW_EXT_ID_PATTERN = `^${UNAMBIGUOUS_EDGE}(?:${UNAMBIGUOUS}*${UNAMBIGUOUS_EDGE})?$`;
/** profile_url: an http(s) scheme (any case, as validator.js compares it) and no whitespace, `<`, `>` or control characters. */
export const PROFILE_URL_PATTERN = '^[Hh][Tt][Tt][Pp][Ss]?://[^\\s<>\\p{Cc}\\p{Cs}]+$';

/** The integer form of `ext_id` in requests: a non-negative safe integer. */
const EXT_ID_INTEGER = { type: 'integer', format: 'int64', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const;

/** `ext_id` in requests: a string, or a non-negative safe integer stored as its decimal string. */
export const OPENAPI_EXT_ID_INPUT = {
  oneOf: [
    { type: 'string', minLength: 1, maxLength: 255, pattern: EXT_ID_PATTERN, description: 'No control characters' },
    EXT_ID_INTEGER,
  ],
  description:
    "The user's id at the provider: 1 to 255 characters without control characters. A JSON number (non-negative safe integer) is accepted and stored as its decimal string.",
  example: '108234567890123456789',
} as const satisfies ApiPropertyOptions;

/** ext_id of a new link: also no invisible formatting characters and no surrounding spaces. */
export const OPENAPI_NEW_EXT_ID_INPUT = {
  ...OPENAPI_EXT_ID_INPUT,
  oneOf: [
    {
      type: 'string',
      minLength: 1,
      maxLength: 255,
      pattern: NEW_EXT_ID_PATTERN,
      description:
        'No control characters, no Unicode format characters (bidi controls, zero-width characters, the BOM), no leading or trailing whitespace',
    },
    EXT_ID_INTEGER,
  ],
  description:
    "The user's id at the provider: 1 to 255 characters without control characters, without Unicode format characters (bidi controls such as U+202E, zero-width characters, the BOM) and without leading or trailing whitespace; stored exactly as given (no Unicode normalization: NFC and NFD spellings are two ids). A JSON number (non-negative safe integer) is accepted and stored as its decimal string.",
} as const satisfies ApiPropertyOptions;

export const OPENAPI_EXT_ID = {
  type: 'string',
  minLength: 1,
  maxLength: 255,
  pattern: EXT_ID_PATTERN,
  description: "The user's id at the provider: 1 to 255 characters without control characters",
  example: '108234567890123456789',
} as const satisfies ApiPropertyOptions;

export const OPENAPI_ROLE_DESCRIPTION =
  'A SelfCommunity role, or null for none (the default). Only `admin` bypasses the self check.';

export const OPENAPI_PROFILE_URL = {
  type: 'string',
  format: 'uri',
  maxLength: 2048,
  pattern: PROFILE_URL_PATTERN,
  description: 'Absolute http(s) URL of the public profile; not allowed for provider `external`',
  example: 'https://plus.google.com/108234567890123456789',
} as const satisfies ApiPropertyOptions;

const HEALTH_INDICATORS: SchemaObject = {
  type: 'object',
  additionalProperties: {
    type: 'object',
    required: ['status'],
    properties: { status: { type: 'string', enum: ['up', 'down'] } },
    additionalProperties: true,
  },
};

/** The body of a health check (@nestjs/terminus's HealthCheckResult). */
export const OPENAPI_HEALTH_CHECK_RESULT: SchemaObject = {
  type: 'object',
  required: ['status', 'details'],
  properties: {
    status: { type: 'string', enum: ['ok', 'error', 'shutting_down'] },
    info: HEALTH_INDICATORS,
    error: HEALTH_INDICATORS,
    details: HEALTH_INDICATORS,
  },
  example: {
    status: 'ok',
    info: { database: { status: 'up' } },
    error: {},
    details: { database: { status: 'up' } },
  },
};
