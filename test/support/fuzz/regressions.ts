import { Body, FuzzRequest } from './requests';

// Every failure the fuzz test ever found (test/e2e/fuzz.e2e-spec.ts), kept as a request to replay first.

/** A JSON body whose `metadata` nests `depth` objects or arrays (class-transformer overflowed the stack on these). */
export function deepBody(open: '{"a":' | '[', depth: number): Body {
  const close = open === '[' ? ']' : '}';
  return {
    kind: 'raw',
    text: `{"provider":"external","ext_id":"deep","metadata":${open.repeat(depth)}1${close.repeat(depth)}}`,
  };
}

export const REQUEST_DEFAULTS: Omit<FuzzRequest, 'actor' | 'body'> = {
  garbageAuthorization: '',
  id: '1',
  trailingSlash: false,
  query: '',
  contentType: 'application/json',
  headers: {},
};

/**
 * Every failure ever found, replayed before the random runs of its route, forever.
 * `seed` and `path` are what fast-check reported (they replay the failure only
 * while the arbitraries above stay as they were); `request` is the shrunk
 * counterexample, which replays it for good.
 */
export const REGRESSIONS: { route: string; seed?: number; path?: string; found: string; request: FuzzRequest }[] = [
  {
    route: 'DELETE /api/v2/user/{id}/provider/',
    seed: -2139787754,
    path: '28:1:2:2:3:3:2:2:4:2:3:4:4',
    found:
      '500: a body nested ~1,500 arrays deep overflowed the stack in class-transformer (fixed: AppValidationPipe refuses more than 64 levels with 400)',
    request: { ...REQUEST_DEFAULTS, actor: 'other', id: '%20', body: deepBody('[', 3000) },
  },
  {
    route: 'DELETE /api/v2/user/{id}/provider/',
    seed: -562185495,
    path: '158:0:2:0:3:1:0:2',
    found: 'the same stack overflow, through the DELETE target merged from body and query',
    request: { ...REQUEST_DEFAULTS, actor: 'self', body: deepBody('[', 3000) },
  },
  {
    route: 'POST /api/v2/user/{id}/provider/',
    seed: -737657618,
    path: '109:0:0:3:1:0:0:0:0:0:0:0:1:1:1:1:1',
    found: 'the same stack overflow, with nested objects in metadata',
    request: { ...REQUEST_DEFAULTS, actor: 'self', body: deepBody('{"a":', 3000) },
  },
  {
    route: 'POST /api/v2/user/provider/',
    seed: 260902142,
    path: '71:1:0:2:1:0:0:3:0:0',
    found: 'the same stack overflow, before authorization could refuse the caller',
    request: { ...REQUEST_DEFAULTS, actor: 'other', id: '3', body: deepBody('{"a":', 3000) },
  },
  {
    route: 'POST /api/v2/sso/signup/',
    seed: -1130485672,
    path: '102:1:0:1:5:0:2:0:1:1:1:1:1',
    found: 'the same stack overflow, in an unknown field of the signup body',
    request: { ...REQUEST_DEFAULTS, actor: 'admin', id: '0', body: deepBody('{"a":', 3000) },
  },
  {
    route: 'POST /api/v2/user/provider/',
    found:
      'access-control.e2e-spec: `user_id: null` passed @IsOptional() and reached the service as a null id (500; fixed with IsOmittable)',
    request: {
      ...REQUEST_DEFAULTS,
      actor: 'self',
      body: { kind: 'json', value: { provider: 'github', ext_id: 'gh-null', user_id: null } },
    },
  },
];
