import { applyDecorators, SetMetadata } from '@nestjs/common';
import {
  ApiExtraModels,
  ApiResponse,
  ApiSecurity,
  ExampleObject,
  getSchemaPath,
  HeaderObject,
  OpenAPIObject,
} from '@nestjs/swagger';
import { STATUS_CODES } from 'node:http';
import { MAX_ID } from '../common/validation/ids';
import { ProblemDetailsDto } from './problem-details.dto';

/** The security scheme of the document: `Authorization: Bearer <JWT>`. */
export const BEARER_SCHEME = 'bearer';

/** A bearer token is required (what JwtAuthGuard enforces on routes that are not @Public() or @OptionalAuth()). */
export const ApiAuth = (): MethodDecorator & ClassDecorator => ApiSecurity(BEARER_SCHEME);

/**
 * No token is needed (@Public()): `security: []`, said rather than left out, so that
 * neither a reader nor a linter takes the route for one whose security was forgotten.
 * (The metadata key is @nestjs/swagger's DECORATORS.API_SECURITY, which it does not
 * export; it keeps an empty list only on a controller class, where @Public() is used.)
 */
export const ApiNoAuth = (): MethodDecorator & ClassDecorator => SetMetadata('swagger/apiSecurity', []);

/** A bearer token is optional (@OptionalAuth()): anonymous callers are let through. */
export const ApiOptionalAuth = (): MethodDecorator & ClassDecorator =>
  applyDecorators(ApiSecurity(BEARER_SCHEME), ApiSecurity({}));

/** The statuses an error of this service can have (see ProblemDetailsFilter). */
export type ProblemStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 429 | 500 | 503;

interface ProblemExample {
  status: ProblemStatus;
  code: string;
  detail: string;
  field?: string;
  instance?: string;
}

const EXAMPLE_REQUEST_ID = '4b0f2c1e-5a7d-4c39-9d1e-3f1b2a6c7d8e';

/**
 * Error examples, by name (`components.examples`): the code they show, and after a
 * dot what sets the example apart from another of that code. The first of each
 * status is its default.
 */
const PROBLEM_EXAMPLES = {
  invalid: {
    status: 400,
    code: 'invalid',
    field: 'ext_id',
    detail: 'ext_id must be a string of 1 to 255 characters without control characters, or a non-negative integer',
  },
  'invalid.id': {
    status: 400,
    code: 'invalid',
    field: 'id',
    detail: 'id must be a positive integer (1 to 2147483647)',
    instance: '/api/v2/user/abc/provider/',
  },
  unknown_field: { status: 400, code: 'unknown_field', field: 'extra', detail: 'extra is not an accepted field' },
  user_id_mismatch: {
    status: 400,
    code: 'user_id_mismatch',
    field: 'user_id',
    detail: 'user_id in the body must equal the user id in the path',
  },
  not_authenticated: {
    status: 401,
    code: 'not_authenticated',
    detail: 'Authentication credentials were not provided or are not a bearer token',
  },
  permission_denied: {
    status: 403,
    code: 'permission_denied',
    detail: 'You do not have permission to manage the social associations of this user',
  },
  not_found: { status: 404, code: 'not_found', detail: 'User 7 does not exist' },
  'not_found.association': {
    status: 404,
    code: 'not_found',
    detail: 'User 7 has no google association with this ext_id',
  },
  already_linked: {
    status: 409,
    code: 'already_linked',
    detail: 'This google identity is already linked to a user',
  },
  too_many_associations: {
    status: 409,
    code: 'too_many_associations',
    detail: 'User 7 already holds 100 associations, the most allowed: unlink one first',
  },
  last_sign_in_method: {
    status: 409,
    code: 'last_sign_in_method',
    detail:
      'This is your last sign-in method and your account has no password: set a password or link another identity first',
  },
  username_taken: {
    status: 409,
    code: 'username_taken',
    field: 'username',
    detail: 'The username jane.doe is already taken',
    instance: '/api/v2/sso/signup/',
  },
  payload_too_large: { status: 413, code: 'payload_too_large', detail: 'Request body is too large' },
  unsupported_media_type: {
    status: 415,
    code: 'unsupported_media_type',
    detail: 'Unsupported Media Type: text/plain',
  },
  throttled: { status: 429, code: 'throttled', detail: 'Too many requests; retry in 42 seconds' },
  server_error: {
    status: 500,
    code: 'server_error',
    detail: `An unexpected error occurred; quote request id ${EXAMPLE_REQUEST_ID} when reporting it`,
  },
  service_unavailable: {
    status: 503,
    code: 'service_unavailable',
    detail: 'The service is temporarily unavailable; retry later',
  },
} as const satisfies Record<string, ProblemExample>;

export type ProblemExampleName = keyof typeof PROBLEM_EXAMPLES;

/** `components.examples` of the document: one problem+json body per name. */
export function problemExamples(): Record<string, ExampleObject> {
  return Object.fromEntries(
    Object.entries(PROBLEM_EXAMPLES).map(([name, example]: [string, ProblemExample]) => {
      const message = { code: example.code, message: example.detail };
      const value = {
        type: 'about:blank',
        title: STATUS_CODES[example.status] ?? 'Error',
        status: example.status,
        detail: example.detail,
        instance: example.instance ?? '/api/v2/user/7/provider/',
        errors: [example.field ? { field: example.field, messages: [message] } : message],
        request_id: EXAMPLE_REQUEST_ID,
      };
      return [name, { summary: example.detail, value }];
    }),
  );
}

const RATE_LIMIT_WHEN =
  'Sent when a rate limit is configured (`RATE_LIMIT_PER_MINUTE`) and the request reached the rate limiter: not on a 401 of authentication, a 413, a 415 or a 429';

/** `components.headers` of the document. */
export const RESPONSE_HEADERS: Record<string, HeaderObject> = {
  'X-Request-Id': {
    description:
      "The request id, on every response: the caller's own `X-Request-Id` when it is 1 to 64 of `A-Z a-z 0-9 . _ : -`, else a new UUID; also `request_id` in error bodies and in the log line",
    schema: { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,64}$', maxLength: 64 },
  },
  'WWW-Authenticate': {
    description: 'The authentication scheme: `Bearer`',
    schema: { type: 'string', maxLength: 256 },
  },
  'Retry-After': {
    description: 'Seconds until the rate limit window ends',
    schema: { type: 'integer', format: 'int32', minimum: 0, maximum: 60 },
  },
  'X-RateLimit-Limit': {
    description: `Requests allowed per caller and minute. ${RATE_LIMIT_WHEN}`,
    schema: { type: 'integer', format: 'int32', minimum: 1, maximum: MAX_ID },
  },
  'X-RateLimit-Remaining': {
    description: `Requests left in the current window. ${RATE_LIMIT_WHEN}`,
    schema: { type: 'integer', format: 'int32', minimum: 0, maximum: MAX_ID },
  },
  'X-RateLimit-Reset': {
    description: `Seconds until the current window ends. ${RATE_LIMIT_WHEN}`,
    schema: { type: 'integer', format: 'int32', minimum: 0, maximum: 60 },
  },
};

const headerRef = (name: keyof typeof RESPONSE_HEADERS) => ({ $ref: `#/components/headers/${name}` });

/** Statuses answered before the rate limiter runs (body parsing) or by it (429): no X-RateLimit-* headers. */
const BEFORE_RATE_LIMIT = new Set(['413', '415', '429']);

/**
 * Declares the headers every response carries: X-Request-Id always, and on the
 * routes that are rate limited (those that document a 429) X-RateLimit-* on every
 * response the limiter has seen.
 */
export function withResponseHeaders(document: OpenAPIObject): OpenAPIObject {
  for (const item of Object.values(document.paths)) {
    for (const operation of [item.get, item.post, item.put, item.patch, item.delete]) {
      if (!operation) continue;
      const rateLimited = '429' in operation.responses;
      for (const [status, response] of Object.entries(operation.responses)) {
        if (!response || '$ref' in response) continue;
        response.headers = {
          'X-Request-Id': headerRef('X-Request-Id'),
          ...(rateLimited && !BEFORE_RATE_LIMIT.has(status)
            ? {
                'X-RateLimit-Limit': headerRef('X-RateLimit-Limit'),
                'X-RateLimit-Remaining': headerRef('X-RateLimit-Remaining'),
                'X-RateLimit-Reset': headerRef('X-RateLimit-Reset'),
              }
            : {}),
          ...response.headers,
        };
      }
    }
  }
  return document;
}

/** When a route answers with that status; optionally which examples show it (default: the first of that status). */
export type ProblemResponse = string | { description: string; examples: ProblemExampleName[] };

/** Statuses every route can answer whatever its input; a route may describe them its own way, or drop one with `false`. */
const EVERY_ROUTE: Partial<Record<ProblemStatus, ProblemResponse>> = {
  429: 'The caller exceeded the rate limit (when one is configured); `Retry-After` says when to retry',
  500: 'An unexpected error; the body carries the request id and never a stack trace',
  503: 'A dependency (the database, the JWKS endpoint) cannot be reached; retry later',
};

function defaultExample(status: ProblemStatus): ProblemExampleName {
  const name = (Object.keys(PROBLEM_EXAMPLES) as ProblemExampleName[]).find(
    (key) => PROBLEM_EXAMPLES[key].status === status,
  );
  if (!name) throw new Error(`No problem example for status ${status}`);
  return name;
}

function responseHeaders(status: ProblemStatus) {
  return {
    ...(status === 401 ? { 'WWW-Authenticate': headerRef('WWW-Authenticate') } : {}),
    ...(status === 429 ? { 'Retry-After': headerRef('Retry-After') } : {}),
  };
}

/**
 * Documents the error responses of a route the way the contract's tables do:
 * status → when. Each is `application/problem+json` with the ProblemDetails
 * schema. 429, 500 and 503 are added to every route unless it says otherwise.
 */
export function ApiProblemResponses(
  responses: Partial<Record<ProblemStatus, ProblemResponse | false>>,
): MethodDecorator & ClassDecorator {
  const all = Object.entries({ ...EVERY_ROUTE, ...responses }).filter(
    (entry): entry is [string, ProblemResponse] => entry[1] !== false,
  );
  return applyDecorators(
    ApiExtraModels(ProblemDetailsDto),
    ...all.map(([key, response]) => {
      const status = Number(key) as ProblemStatus;
      const { description, examples } =
        typeof response === 'string' ? { description: response, examples: [defaultExample(status)] } : response;
      return ApiResponse({
        status,
        description,
        headers: responseHeaders(status),
        content: {
          'application/problem+json': {
            schema: { $ref: getSchemaPath(ProblemDetailsDto) },
            examples: Object.fromEntries(examples.map((name) => [name, { $ref: `#/components/examples/${name}` }])),
          },
        },
      });
    }),
  );
}
