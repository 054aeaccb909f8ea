import { plainToInstance, Transform } from 'class-transformer';
import { isIP } from 'node:net';
import { PROVIDER_SLUG } from '../common/validation/decorators';
import { MIN_SECRET_LENGTH } from './development-secret';
import {
  IsBooleanString,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  Min,
  MinLength,
  validateSync,
  ValidationError,
} from 'class-validator';

export const NODE_ENVS = ['development', 'production', 'test'] as const;
export type NodeEnv = (typeof NODE_ENVS)[number];

/** A comma-separated list (spaces around items allowed) of values that each match `item` (an anchored pattern). */
function commaSeparated(item: RegExp): RegExp {
  const body = item.source.replace(/^\^/, '').replace(/\$$/, '');
  return new RegExp(`^\\s*(?:${body})\\s*(?:,\\s*(?:${body})\\s*)*$`);
}

const toInt = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;

/** RATE_LIMIT_PER_MINUTE when unset (app-config.ts applies it; the cluster rules below need it too). */
export const DEFAULT_RATE_LIMIT_PER_MINUTE = 600;

const CLUSTER_WORKER_COUNTS = Array.from({ length: 64 }, (_, i) => i + 1);

/** A rule that looks at several variables; it returns its problems, each starting with the variable it names. */
type CrossFieldCheck = (env: EnvironmentVariables) => string[];
const crossFieldChecks: CrossFieldCheck[] = [];

/**
 * Declares, on the variable it is about, a rule that involves other variables too.
 * The checks run after every variable's own rules, in the order they are declared.
 */
function CrossFieldRule(check: CrossFieldCheck): PropertyDecorator {
  return () => {
    crossFieldChecks.push(check);
  };
}

const isProduction = (env: EnvironmentVariables): boolean => (env.NODE_ENV ?? 'development') === 'production';
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * The raw environment, flat and by variable name. Only this class and
 * `app-config.ts` know these names; everything else gets a typed AppConfig.
 */
export class EnvironmentVariables {
  @IsOptional()
  @IsIn(NODE_ENVS)
  NODE_ENV?: NodeEnv;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT?: number;

  @IsOptional()
  @IsString()
  HOST?: string;

  /** Longest a request may take to arrive (headers and body), in ms; past it, 408 and the connection closes. */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1000)
  @Max(300_000)
  HTTP_REQUEST_TIMEOUT_MS?: number;

  @IsOptional()
  @Matches(/^postgres(ql)?:\/\/.+/, { message: 'DATABASE_URL must be a postgres:// URL' })
  DATABASE_URL?: string;

  /** Without DATABASE_URL: the folder of the embedded PostgreSQL (PGlite) database and its socket. */
  @IsOptional()
  @IsString()
  @MinLength(1)
  DATABASE_PATH?: string;

  @IsOptional()
  @IsBooleanString({ message: 'DATABASE_MIGRATIONS_RUN must be true or false' })
  DATABASE_MIGRATIONS_RUN?: string;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1000)
  DATABASE_POOL_SIZE?: number;

  @IsOptional()
  @IsString()
  @MinLength(MIN_SECRET_LENGTH, { message: `JWT_SECRET must be at least ${MIN_SECRET_LENGTH} characters` })
  @CrossFieldRule((env) =>
    isProduction(env) && !env.JWT_SECRET && !env.JWKS_URI
      ? ['JWT_SECRET: must be set in production (at least 32 characters, e.g. `openssl rand -base64 48`)']
      : [],
  )
  JWT_SECRET?: string;

  @IsOptional()
  @IsString()
  @CrossFieldRule((env) =>
    env.JWKS_URI && !env.JWT_ISSUER
      ? ['JWT_ISSUER: required when JWKS_URI is set (the issuer the tokens must name)']
      : [],
  )
  JWT_ISSUER?: string;

  @IsOptional()
  @IsString()
  @CrossFieldRule((env) =>
    env.JWKS_URI && !env.JWT_AUDIENCE
      ? ['JWT_AUDIENCE: required when JWKS_URI is set (the audience the tokens must name)']
      : [],
  )
  JWT_AUDIENCE?: string;

  /** Longest lifetime (`exp - iat`, in seconds) of a token that is accepted; longer-lived tokens are a 401. */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(60)
  @Max(31_536_000)
  JWT_MAX_LIFETIME_SECONDS?: number;

  /**
   * JWKS mode: verify RS256/ES256 tokens of an identity provider (Keycloak, Azure AD,
   * Auth0) against its key set instead of HS256 with JWT_SECRET. Needs JWT_ISSUER and JWT_AUDIENCE.
   */
  @IsOptional()
  @IsUrl(
    { protocols: ['http', 'https'], require_protocol: true, require_tld: false, allow_underscores: true },
    { message: 'JWKS_URI must be an absolute http(s) URL' },
  )
  @CrossFieldRule((env) => {
    if (!env.JWKS_URI || !isProduction(env) || !env.JWKS_URI.startsWith('http:')) return [];
    const host = URL.canParse(env.JWKS_URI) ? new URL(env.JWKS_URI).hostname : '';
    return LOOPBACK_HOSTS.has(host)
      ? []
      : ['JWKS_URI: must be https in production (keys fetched over http can be forged)'];
  })
  JWKS_URI?: string;

  /** JWKS mode: comma-separated accepted algorithms (asymmetric only); default RS256,ES256. */
  @IsOptional()
  @Matches(/^\s*[A-Za-z0-9]+\s*(,\s*[A-Za-z0-9]+\s*)*$/, {
    message: 'JWT_ALGORITHMS must be a comma-separated list of algorithms, e.g. RS256,ES256',
  })
  @CrossFieldRule((env) => {
    if (env.JWT_ALGORITHMS === undefined) return [];
    if (!env.JWKS_URI) return ['JWT_ALGORITHMS: only used with JWKS_URI (the shared-secret mode accepts HS256 only)'];
    const refused = parseJwtAlgorithms(env.JWT_ALGORITHMS).filter(
      (alg) => !(JWKS_ALGORITHMS as readonly string[]).includes(alg),
    );
    return refused.length > 0
      ? [
          `JWT_ALGORITHMS: only asymmetric algorithms are accepted with JWKS_URI (${JWKS_ALGORITHMS.join(', ')}); HS* and none never are`,
        ]
      : [];
  })
  JWT_ALGORITHMS?: string;

  /** JWKS mode: the claim that carries the community user id (`user_id`, or `sub`, or a namespaced claim). */
  @IsOptional()
  @Matches(/^[\x21-\x7e]{1,256}$/, { message: 'JWT_USER_ID_CLAIM must be a claim name of 1 to 256 visible characters' })
  @CrossFieldRule((env) =>
    env.JWT_USER_ID_CLAIM !== undefined && !env.JWKS_URI
      ? ['JWT_USER_ID_CLAIM: only used with JWKS_URI (shared-secret tokens carry user_id)']
      : [],
  )
  JWT_USER_ID_CLAIM?: string;

  /** Comma-separated allow-list of provider slugs; unset: any valid slug. */
  @IsOptional()
  @Matches(commaSeparated(PROVIDER_SLUG), {
    message: 'PROVIDERS must be a comma-separated list of provider slugs, e.g. google,github,keycloak',
  })
  PROVIDERS?: string;

  /** The most associations one user may hold (more is a 409): bounds every list answer. */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(10_000)
  MAX_ASSOCIATIONS_PER_USER?: number;

  /** The most requests of one user run at once by one process (more wait their turn): one user's share of the pool. */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1000)
  MAX_CONCURRENT_REQUESTS_PER_USER?: number;

  @IsOptional()
  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL?: string;

  /** Milliseconds a database connect or statement may take before the request fails (503). */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(600000)
  DATABASE_TIMEOUT_MS?: number;

  /** Requests per minute per caller (user, else client address); 0 disables rate limiting. */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(1000000)
  RATE_LIMIT_PER_MINUTE?: number;

  /** Shared rate-limit storage for every instance; unset: in memory, per process. */
  @IsOptional()
  @Matches(/^rediss?:\/\/.+/, { message: 'REDIS_URL must be a redis:// or rediss:// URL' })
  REDIS_URL?: string;

  /** Prefix of every key this service writes in Redis. */
  @IsOptional()
  @Matches(/^[A-Za-z0-9:_.-]{1,64}$/, {
    message: 'REDIS_KEY_PREFIX must be 1 to 64 characters of A-Z, a-z, 0-9, :, _, . and -',
  })
  REDIS_KEY_PREFIX?: string;

  /** Comma-separated origins allowed to call from a browser (CORS), e.g. https://admin.example.com; unset: none. */
  @IsOptional()
  @Matches(/^\s*https?:\/\/[^\s,/]+\s*(,\s*https?:\/\/[^\s,/]+\s*)*$/, {
    message: 'CORS_ORIGINS must be a comma-separated list of origins, e.g. https://admin.example.com,https://b.example',
  })
  CORS_ORIGINS?: string;

  /**
   * The load balancers and proxies in front of the service (addresses or CIDR ranges, or
   * `loopback`/`linklocal`/`uniquelocal`): only their X-Forwarded-For is believed.
   */
  @IsOptional()
  @IsString()
  @CrossFieldRule((env) =>
    env.TRUST_PROXY === undefined ||
    env.TRUST_PROXY.split(',').every((item) => TRUST_PROXY_KEYWORDS.has(item.trim()) || isAddressOrRange(item.trim()))
      ? []
      : [
          'TRUST_PROXY: must be a comma-separated list of proxy addresses or CIDR ranges (e.g. 10.0.0.0/8,192.168.1.7), or loopback, linklocal, uniquelocal',
        ],
  )
  TRUST_PROXY?: string;

  /** Worker processes (node:cluster) serving the same port; 1: a single process, no cluster. */
  @IsOptional()
  @Transform(toInt)
  // One rule, so a bad value is named once (IsInt, Min and Max would each name it).
  @IsIn(CLUSTER_WORKER_COUNTS, { message: 'CLUSTER_WORKERS must be an integer from 1 to 64' })
  // More than one worker is only correct when nothing that matters lives in one process:
  // the database must be a PostgreSQL server, and the rate-limit counters in Redis.
  @CrossFieldRule((env) => {
    // 1, unset, or invalid (already named by the rule above): nothing to check.
    const workers = env.CLUSTER_WORKERS;
    if (workers === undefined || workers === 1 || !CLUSTER_WORKER_COUNTS.includes(workers)) return [];
    return [
      ...(env.DATABASE_URL
        ? []
        : [
            'CLUSTER_WORKERS: more than 1 needs DATABASE_URL (a PostgreSQL server); the embedded database (DATABASE_PATH) is opened by one process only',
          ]),
      ...((env.RATE_LIMIT_PER_MINUTE ?? DEFAULT_RATE_LIMIT_PER_MINUTE) !== 0 && !env.REDIS_URL
        ? [
            'CLUSTER_WORKERS: more than 1 with rate limiting on needs REDIS_URL (or RATE_LIMIT_PER_MINUTE=0); per-process counters would multiply the limit by the number of workers',
          ]
        : []),
    ];
  })
  CLUSTER_WORKERS?: number;

  /** On SIGTERM, how long new requests get 503 (Connection: close) before the listener closes. */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(60000)
  SHUTDOWN_DRAIN_MS?: number;

  /** Webhook URLs may be http, and may reach loopback, private and link-local addresses (tests, private deployments). */
  @IsOptional()
  @IsBooleanString({ message: 'WEBHOOKS_ALLOW_PRIVATE_NETWORKS must be true or false' })
  WEBHOOKS_ALLOW_PRIVATE_NETWORKS?: string;

  /** Longest one webhook delivery may take (DNS, connect, answer), in ms; past it the attempt failed. */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(60_000)
  WEBHOOK_TIMEOUT_MS?: number;

  /** How long a failing event is retried, in seconds, before it is given up and its endpoint disabled. */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(30 * 86_400)
  WEBHOOK_RETRY_PERIOD_SECONDS?: number;

  /** How far V8's old generation may grow past the live heap before a full GC, in percent; 0: V8's own choice. */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(400)
  HEAP_GROWING_PERCENT?: number;
}

/** Names every variable that failed, never its value (values may be secrets). */
export class InvalidEnvironmentError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'InvalidEnvironmentError';
  }
}

function describe(errors: ValidationError[]): string[] {
  return errors.flatMap((error) =>
    Object.values(error.constraints ?? {}).map((message) => `${error.property}: ${message}`),
  );
}

/** Algorithms JWKS mode may accept: asymmetric only, so a public key can never serve as an HMAC secret. */
export const JWKS_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;
export type JwksAlgorithm = (typeof JWKS_ALGORITHMS)[number];

export function parseJwtAlgorithms(value: string | undefined): string[] {
  return value === undefined ? ['RS256', 'ES256'] : [...new Set(value.split(',').map((alg) => alg.trim()))];
}

const TRUST_PROXY_KEYWORDS = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** An IPv4/IPv6 address, optionally with a prefix length in range. */
function isAddressOrRange(item: string): boolean {
  const [address, prefix, ...rest] = item.split('/');
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (version === 4 ? 32 : 128);
}

export function validateEnvironment(raw: Record<string, unknown>): EnvironmentVariables {
  const env = plainToInstance(EnvironmentVariables, raw, { excludeExtraneousValues: false });
  const problems = describe(validateSync(env, { skipMissingProperties: false }));
  for (const check of crossFieldChecks) problems.push(...check(env));
  if (problems.length > 0) throw new InvalidEnvironmentError(problems);
  return env;
}
