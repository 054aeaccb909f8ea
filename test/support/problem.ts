import { STATUS_CODES } from 'node:http';
import { expect } from 'vitest';
import { TestResponse } from './http';

/**
 * A value in an expected body: a string, a RegExp (matched), or an asymmetric matcher such
 * as expect.any(String) (whose type is `any`, hence `unknown` here).
 */
type Expected = unknown;

/** A problem body as the service sends it, less what only the response can say (instance, request_id). */
export interface ExpectedProblem {
  status: number;
  detail: Expected;
  errors: unknown[];
}

const matcher = (value: Expected): unknown => (value instanceof RegExp ? expect.stringMatching(value) : value);
const anyText = (): Expected => expect.any(String);

/** A non-field error: `errors` holds one item whose message is the detail (src/common/errors/problem-details.filter.ts). */
function general(status: number, code: string, detail: Expected = anyText()): ExpectedProblem {
  return { status, detail, errors: [{ code, message: matcher(detail) }] };
}

/** Field errors: `errors` names each field, in order, with one message carrying the code. */
function fields(
  status: number,
  items: [name: string, code?: Expected, message?: Expected][],
  detail: Expected = anyText(),
): ExpectedProblem {
  return {
    status,
    detail,
    errors: items.map(([name, code = anyText(), message = anyText()]) => ({
      field: name,
      messages: [{ code: matcher(code), message: matcher(message) }],
    })),
  };
}

/**
 * The expected problem body of each common error, one entry per code, asserted whole by
 * expectProblem (as immich-app/immich `e2e/src/responses.ts` does for its errors). The
 * codes are those of ErrorCode and STATUS_BY_CODE (src/common/errors/domain-error.ts; for
 * errors Nest or Fastify raise, codeForStatus there).
 * `detail` is any string unless a test names it (a string, or a pattern for the part that matters).
 */
export const problems = {
  /** 400 not about one field (a body that is not an object, a malformed URL, too many fields). */
  invalid: (detail?: Expected) => general(400, 'invalid', detail),
  /** 400 about one field; `code` is `invalid`, `unknown_field`, `user_id_mismatch`, `provider_not_allowed`, `invalid_field`... */
  invalidField: (name: string, code?: Expected, message?: Expected) => fields(400, [[name, code, message]]),
  /** 400 about several fields, in the order the service lists them. */
  invalidFields: (items: [name: string, code?: Expected, message?: Expected][], detail?: Expected) =>
    fields(400, items, detail),
  /** 401: no token, an invalid one, or the token of a deleted or deactivated user. */
  notAuthenticated: (detail?: Expected) => general(401, 'not_authenticated', detail),
  /** 403: authenticated, but not self nor admin (or not admin). */
  permissionDenied: (detail?: Expected) => general(403, 'permission_denied', detail),
  /** 404 for a user or association that does not exist (`detail` says which). */
  notFound: (detail?: Expected) => general(404, 'not_found', detail),
  /** 404 for a route that does not exist; the query string never reaches the detail. */
  noRoute: (method: string, path: string) => general(404, 'not_found', `No route ${method} ${path.split('?')[0]}`),
  methodNotAllowed: (detail?: Expected) => general(405, 'method_not_allowed', detail),
  alreadyLinked: (provider?: string) =>
    general(
      409,
      'already_linked',
      provider === undefined ? anyText() : `This ${provider} identity is already linked to a user`,
    ),
  lastSignInMethod: (detail?: Expected) => general(409, 'last_sign_in_method', detail),
  tooManyAssociations: (detail?: Expected) => general(409, 'too_many_associations', detail),
  usernameTaken: (username?: string) =>
    fields(409, [
      ['username', 'username_taken', username === undefined ? anyText() : `The username ${username} is already taken`],
    ]),
  payloadTooLarge: (detail?: Expected) => general(413, 'payload_too_large', detail),
  unsupportedMediaType: (detail?: Expected) => general(415, 'unsupported_media_type', detail),
  /** 429 from the rate limit (with Retry-After). */
  throttled: (detail: Expected = /^Too many requests; retry in \d+ seconds?$/) => general(429, 'throttled', detail),
  tooManyConcurrentRequests: (detail?: Expected) => general(429, 'too_many_concurrent_requests', detail),
  serverError: () =>
    general(500, 'server_error', /^An unexpected error occurred; quote request id \S+ when reporting it$/),
  /** 503 for a request the database could not serve (src/common/errors/problem-details.filter.ts). */
  serviceUnavailable: (detail: Expected = 'The service is temporarily unavailable; retry later') =>
    general(503, 'service_unavailable', detail),
  /** 503 from GET /health/ready with the database down: its detail is the health check's own. */
  notReady: () => general(503, 'service_unavailable'),
} satisfies Record<string, (...args: never[]) => ExpectedProblem>;

/**
 * Asserts a contract error whole: the status, the problem+json content type, and the body
 * with toEqual (RFC 9457 members, the `errors` array, and the request id of the
 * X-Request-Id header). `instance` is the request's path without its query string unless
 * given; `expected` comes from `problems`.
 */
export function expectProblem(
  response: TestResponse,
  expected: ExpectedProblem,
  options: { instance?: Expected } = {},
): void {
  expect(response.status, response.text).toBe(expected.status);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(response.body).toEqual({
    type: 'about:blank',
    title: STATUS_CODES[expected.status],
    status: expected.status,
    detail: matcher(expected.detail),
    instance: matcher(options.instance ?? response.path.split('?')[0]),
    errors: expected.errors,
    request_id: response.headers.get('x-request-id'),
  });
}
