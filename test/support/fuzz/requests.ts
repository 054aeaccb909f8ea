import fc from 'fast-check';
import { DbDiff } from '../db-snapshot';

// The fuzz test's requests (test/e2e/fuzz.e2e-spec.ts): what one generated request is, the
// routes and outcomes it is judged by, and the fast-check arbitraries that generate requests.

export const ACTORS = [
  'anonymous',
  'self',
  'locked-out',
  'other',
  'admin',
  'deactivated',
  'deleted',
  'garbage',
] as const;
export type Actor = (typeof ACTORS)[number];

export type Body = { kind: 'none' } | { kind: 'json'; value: unknown } | { kind: 'raw'; text: string };

/** One generated request. Plain data, so failures print and can be kept as regression examples. */
export interface FuzzRequest {
  actor: Actor;
  /** The Authorization header of the `garbage` actor. */
  garbageAuthorization: string;
  /** The path id segment, as sent (percent-encoded where needed). */
  id: string;
  trailingSlash: boolean;
  /** The raw query string, without `?`. */
  query: string;
  body: Body;
  contentType: string | null;
  headers: Record<string, string>;
}

export interface Fixture {
  self: number;
  lockedOut: number;
  other: number;
  admin: number;
  deactivated: number;
  deleted: number;
  identities: { provider: string; ext_id: string }[];
}

export interface Outcome {
  request: FuzzRequest;
  status: number;
  body: unknown;
  change: DbDiff;
  callerId: number | undefined;
  isAdmin: boolean;
}

export interface FuzzRoute {
  name: string;
  inputs: RouteInputs;
  method: 'GET' | 'POST' | 'DELETE';
  path(request: FuzzRequest): string;
  /** Reachable without a valid token. */
  public?: boolean;
  /** Checks an outcome beyond "no 5xx, problem+json errors, nothing changed unless allowed". */
  verify(outcome: Outcome, fixture: Fixture): void;
}

// ---------------------------------------------------------------- arbitraries

export const printable = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
  maxLength: 40,
});

/** Strings that stress parsers: Unicode, controls, lone surrogates, long ones, numbers in disguise. */
export const nastyString = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc
    .tuple(fc.string({ minLength: 1, maxLength: 3 }), fc.integer({ min: 80, max: 110 }))
    .map(([unit, n]) => unit.repeat(n)),
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    '\ud800',
    '0',
    '-1',
    '1.5',
    '1e3',
    '0x10',
    '99999999999',
    '2147483648',
    'NaN',
    'null',
    'true',
    '[]',
    '{}',
    '__proto__',
    'constructor',
    '%00',
    "' OR 1=1 --",
    '"; DROP TABLE users; --',
    '../../etc/passwd',
    '${jndi:ldap://x}',
    '<script>',
    'ＧＯＯＧＬＥ',
    'Google',
    'x'.repeat(32),
    'x'.repeat(33),
    'x'.repeat(255),
    'x'.repeat(256),
  ),
);

/** Percent-encodes any string; a lone surrogate becomes an invalid UTF-8 sequence, as a client could send. */
export const encode = (value: string): string =>
  value.isWellFormed() ? encodeURIComponent(value) : `${encodeURIComponent(value.toWellFormed())}%ED%A0%80`;

export const json = fc.jsonValue({ maxDepth: 2 });

/** A deep object (metadata, bodies) of up to a few thousand levels. */
export const deepObject = fc
  .tuple(fc.integer({ min: 1, max: 5000 }), fc.constantFrom('{"a":', '[', '{"__proto__":'))
  .map(([depth, open]) => ({ depth, open }));

/** The fields a route reads from its body, and the query parameters it reads. */
export interface RouteInputs {
  body: readonly BodyField[];
  query: readonly string[];
}
export type BodyField =
  | 'ext_id'
  | 'provider'
  | 'user_id'
  | 'profile_url'
  | 'metadata'
  | 'show_in_profile'
  | 'username'
  | 'email'
  | 'role'
  | 'has_usable_password';

/** A field's value: usually valid (so requests reach the services), else anything. */
export function field<T>(valid: fc.Arbitrary<T>): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 12, arbitrary: valid },
    { weight: 1, arbitrary: nastyString },
    { weight: 1, arbitrary: json },
    { weight: 1, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.constantFrom(true, 0, -1, 1.5, 2 ** 31, [], {}) },
  );
}

/** Who calls, weighted towards the callers that may write, so requests get past authorization. */
export const actor = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom<Actor>('self', 'admin') },
  { weight: 2, arbitrary: fc.constantFrom<Actor>('locked-out', 'other') },
  { weight: 2, arbitrary: fc.constantFrom<Actor>('anonymous', 'deactivated', 'deleted', 'garbage') },
);

export function arbitraries(fx: Fixture, inputs: RouteInputs) {
  const userIds = [fx.self, fx.lockedOut, fx.other, fx.admin, fx.deactivated, fx.deleted];
  const identity = fc.constantFrom(...fx.identities);
  const own: Record<Actor, number> = {
    self: fx.self,
    admin: fx.admin,
    'locked-out': fx.lockedOut,
    other: fx.other,
    anonymous: fx.self,
    deactivated: fx.deactivated,
    deleted: fx.deleted,
    garbage: fx.self,
  };
  const perActor = Object.fromEntries(ACTORS.map((a) => [a, forCaller(a, own[a])])) as Record<
    Actor,
    fc.Arbitrary<FuzzRequest>
  >;
  return { request: actor.chain((a) => perActor[a]) };

  /** Requests of one caller; ids aim at the caller's own user half of the time. */
  function forCaller(caller: Actor, ownId: number): fc.Arbitrary<FuzzRequest> {
    const fixtureUserId = fc.oneof(fc.constant(ownId), fc.constantFrom(...userIds));

    const idSegment = fc.oneof(
      { weight: 6, arbitrary: fixtureUserId.map(String) },
      { weight: 1, arbitrary: fc.integer({ min: -(2 ** 31), max: 2 ** 32 }).map(String) },
      { weight: 1, arbitrary: nastyString.map(encode) },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          '%',
          '%zz',
          '%00',
          '%C0%AF',
          '%ED%A0%80',
          '%FF',
          '.',
          '..',
          '%2e%2e',
          '+1',
          '%201',
          '١',
          'me',
          'provider',
          '1;x=1',
          `${fx.self}%2F${fx.other}`,
        ),
      },
    );

    const slug = fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom('google', 'github', 'external', 'keycloak', 'azure-ad', 'twitter') },
      { weight: 1, arbitrary: fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,31}$/) },
    );
    const fields: Record<BodyField, fc.Arbitrary<unknown>> = {
      ext_id: field(fc.oneof(fc.uuid(), fc.nat(), fc.string({ minLength: 1, maxLength: 20 }))),
      provider: field(slug),
      user_id: field(
        fc.oneof({ weight: 3, arbitrary: fixtureUserId }, { weight: 1, arbitrary: fixtureUserId.map(String) }),
      ),
      profile_url: field(fc.oneof(fc.webUrl(), fc.constant(null))),
      metadata: field(
        fc.oneof(
          fc.constant(null),
          fc.dictionary(fc.string({ maxLength: 10 }), json, { maxKeys: 4 }),
          fc.nat({ max: 2000 }).map((n) => ({ big: 'x'.repeat(16_000 + n) })),
        ),
      ),
      show_in_profile: field(fc.boolean()),
      username: field(fc.stringMatching(/^[\w.@+-]{1,20}$/)),
      email: field(fc.oneof(fc.emailAddress(), fc.constant(null))),
      role: field(fc.constantFrom('admin', 'moderator', 'editor', null)),
      has_usable_password: field(fc.boolean()),
    };
    const model = Object.fromEntries(inputs.body.map((name) => [name, fields[name]])) as Record<
      string,
      fc.Arbitrary<unknown>
    >;

    /** Objects shaped like the route's real input, each field present or not, valid or not, sometimes with extras. */
    const structured = fc
      .tuple(
        fc.record(model, { requiredKeys: [] }),
        fc.oneof(
          { weight: 6, arbitrary: fc.constant({}) },
          {
            weight: 1,
            arbitrary: fc.dictionary(
              fc.oneof(
                fc.string({ maxLength: 12 }),
                fc.constantFrom('__proto__', 'constructor', 'id', 'is_active', 'userId', 'role'),
              ),
              json,
              { minKeys: 1, maxKeys: 2 },
            ),
          },
        ),
        fc.option(identity, { freq: 2 }),
      )
      .map(([fieldValues, extra, picked]) => {
        const value: Record<string, unknown> = { ...fieldValues, ...extra };
        // Often aim at an identity that exists, so deletes and conflicts are reached too.
        if (picked && inputs.body.includes('provider')) Object.assign(value, picked);
        return value;
      });

    const body: fc.Arbitrary<Body> = fc.oneof(
      { weight: 10, arbitrary: structured.map((value): Body => ({ kind: 'json', value })) },
      { weight: 1, arbitrary: json.map((value): Body => ({ kind: 'json', value })) },
      { weight: 1, arbitrary: nastyString.map((text): Body => ({ kind: 'raw', text })) },
      {
        weight: 1,
        arbitrary: deepObject.map(({ depth, open }): Body => {
          const close = open === '[' ? ']' : '}';
          return {
            kind: 'raw',
            text: `{"provider":"external","ext_id":"deep","metadata":${open.repeat(depth)}1${close.repeat(depth)}}`,
          };
        }),
      },
      { weight: 2, arbitrary: fc.constant<Body>({ kind: 'none' }) },
    );

    const queryKey = fc.oneof(
      { weight: 6, arbitrary: inputs.query.length ? fc.constantFrom(...inputs.query) : fc.constant('user_id') },
      {
        weight: 1,
        arbitrary: fc.constantFrom('user_id[]', 'user_id[0]', '__proto__', 'constructor', 'access_token', ''),
      },
      { weight: 1, arbitrary: fc.string({ maxLength: 10 }) },
    );
    const queryValue = fc.oneof(
      { weight: 3, arbitrary: fixtureUserId.map(String) },
      { weight: 3, arbitrary: identity.chain(({ provider, ext_id }) => fc.constantFrom(provider, ext_id)) },
      {
        weight: 1,
        arbitrary: fc.constantFrom('2025-01-31T12:00:00Z', '2025-02-30T12:00:00Z', '0', '101', '50', 'eyJpZCI6MX0'),
      },
      { weight: 2, arbitrary: nastyString },
    );
    /** Query parameters of a route as a client would send them: names it reads, with values it may accept. */
    const wellFormedQuery = fc
      .subarray([...inputs.query])
      .chain((names) => fc.tuple(...names.map((name) => queryValue.map((value) => `${encode(name)}=${encode(value)}`))))
      .map((pairs) => pairs.join('&'));
    const query = fc.oneof(
      { weight: 3, arbitrary: fc.constant('') },
      { weight: inputs.query.length ? 4 : 0, arbitrary: wellFormedQuery },
      {
        weight: 3,
        arbitrary: fc
          .array(fc.tuple(queryKey, queryValue), { maxLength: 4 })
          .map((pairs) => pairs.map(([k, v]) => `${encode(k)}=${encode(v)}`).join('&')),
      },
      {
        weight: 1,
        arbitrary: fc.string({
          unit: fc.constantFrom('a', '=', '&', '%', '+', '[', ']', '.', '1', 'x', '_', 'ü'),
          maxLength: 30,
        }),
      },
    );

    const headerName = fc.oneof(
      fc.constantFrom(
        'x-http-method-override',
        'x-forwarded-for',
        'x-forwarded-host',
        'x-forwarded-proto',
        'x-original-url',
        'x-rewrite-url',
        'x-user-id',
        'x-request-id',
        'forwarded',
        'origin',
        'accept',
        'accept-encoding',
        'content-encoding',
        'cookie',
        'if-none-match',
        'range',
      ),
      fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/).filter((name) => !UNSENDABLE_HEADERS.has(name)),
    );
    const headers = fc.oneof(
      { weight: 3, arbitrary: fc.constant({}) },
      { weight: 2, arbitrary: fc.dictionary(headerName, printable, { minKeys: 1, maxKeys: 3 }) },
    );

    const contentType = fc.oneof(
      { weight: 16, arbitrary: fc.constant('application/json') },
      { weight: 1, arbitrary: fc.constant(null) },
      {
        weight: 2,
        arbitrary: fc.constantFrom(
          'application/json; charset=utf-8',
          'application/json; charset=latin1',
          'APPLICATION/JSON',
          'text/plain',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          'application/vnd.api+json',
          'application/problem+json',
        ),
      },
      { weight: 1, arbitrary: printable },
    );

    return fc.record({
      actor: fc.constant(caller),
      garbageAuthorization: fc.oneof(
        printable,
        printable.map((s) => `Bearer ${s}`),
        nastyString.map((s) => `Bearer ${encode(s)}`),
      ),
      id: idSegment,
      trailingSlash: fc.boolean(),
      query,
      body,
      contentType,
      headers,
    });
  }
}

/** Headers fetch refuses to send or that would break the request framing itself. */
export const UNSENDABLE_HEADERS = new Set([
  'host',
  'connection',
  'content-length',
  'transfer-encoding',
  'keep-alive',
  'upgrade',
  'expect',
  'te',
  'trailer',
  'authorization',
  'content-type',
  'proxy-connection',
]);
