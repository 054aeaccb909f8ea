import { resolve } from 'node:path';
import { DEFAULT_DATABASE_PATH, developmentSecretFile, readDevelopmentSecret } from './development-secret';
import {
  DEFAULT_RATE_LIMIT_PER_MINUTE,
  InvalidEnvironmentError,
  JwksAlgorithm,
  NodeEnv,
  parseJwtAlgorithms,
  validateEnvironment,
} from './env.schema';

/**
 * PostgreSQL either way: a server (DATABASE_URL), or PGlite embedded in the
 * process on the folder DATABASE_PATH. The same SQL runs on both.
 */
export type DatabaseConfig = (
  | { engine: 'server'; url: string }
  | {
      engine: 'embedded';
      /** The folder that holds the embedded database's files and its socket. */
      path: string;
    }
) & {
  poolSize: number;
  migrationsRun: boolean;
  /** Longest wait for a connection, and longest statement, in ms: past it the request fails (503). */
  timeoutMs: number;
};

/** SelfCommunity's tokens: HS256 with a shared secret. */
export interface Hs256JwtConfig {
  mode: 'hs256';
  /** HS256 shared secret. */
  secret: string;
  /** Where the secret came from, so start-up can say so (never the value). */
  secretSource: 'environment' | 'generated-file';
  issuer?: string;
  audience?: string;
  /** Seconds of clock skew tolerated on `iat` and `nbf` (`exp` is strict). */
  clockToleranceSeconds: number;
  /** Longest token lifetime accepted (`exp - iat`), in seconds. */
  maxLifetimeSeconds: number;
}

/** An identity provider's tokens (Keycloak, Azure AD, Auth0): asymmetric, verified against its JWKS. */
export interface JwksJwtConfig {
  mode: 'jwks';
  jwksUri: string;
  issuer: string;
  audience: string;
  /** Accepted `alg` values; asymmetric only (validated). */
  algorithms: readonly JwksAlgorithm[];
  /** The claim that carries the community user id. */
  userIdClaim: string;
  clockToleranceSeconds: number;
  maxLifetimeSeconds: number;
}

/** How access tokens are verified: one mode per deployment, chosen by JWKS_URI. */
export type JwtConfig = Hs256JwtConfig | JwksJwtConfig;

export interface HttpConfig {
  host: string;
  port: number;
  /** Largest request body accepted, in bytes; larger is a 413. */
  bodyLimitBytes: number;
  /**
   * Longest a request may take to arrive, headers and body, in ms (its headers
   * alone: at most 5 s of it); past it, 408 and the connection closes.
   */
  requestTimeoutMs: number;
  /** Browser origins allowed by CORS; empty: no CORS headers at all. */
  corsOrigins: readonly string[];
  /** Proxies whose X-Forwarded-For gives the client address (rate limits, logs); empty: none. */
  trustProxy: readonly string[];
  /**
   * On SIGTERM: how long, in ms, the listener stays open answering 503 with
   * Connection: close, so keep-alive clients move away before connections close.
   */
  shutdownDrainMs: number;
}

export interface RateLimitConfig {
  /** Requests per minute per caller (user id, else client address); 0: no rate limiting. */
  perMinute: number;
  /** Shared storage for every instance; null: in memory, per process. */
  redis: { url: string; keyPrefix: string } | null;
}

export interface WebhooksConfig {
  /** Lifts the SSRF rules: http URLs, loopback, private and link-local addresses are allowed. */
  allowPrivateNetworks: boolean;
  /** Longest one delivery attempt may take, in ms. */
  timeoutMs: number;
  /** How long an event is retried before it is given up (and its endpoint disabled), in ms. */
  retryPeriodMs: number;
}

export interface ClusterConfig {
  /**
   * Worker processes (node:cluster) that each run the whole service on the same port;
   * 1: no cluster, this process serves. More than 1 only with PostgreSQL and, when
   * rate limiting is on, Redis (validated).
   */
  workers: number;
}

/**
 * The whole configuration, typed and frozen. Built once from the environment;
 * this is what gets injected, never `process.env`.
 */
export class AppConfig {
  readonly nodeEnv!: NodeEnv;
  readonly http!: HttpConfig;
  readonly db!: DatabaseConfig;
  readonly jwt!: JwtConfig;
  readonly logLevel!: string;
  readonly rateLimit!: RateLimitConfig;
  readonly cluster!: ClusterConfig;
  readonly webhooks!: WebhooksConfig;
  /**
   * V8's --heap-growing-percent, set by main.ts at start-up: how far the old generation
   * may grow past the live heap before a full GC. 0 (the default): V8's adaptive factor (up to 4x).
   */
  readonly heapGrowingPercent!: number;
  /** Providers a new association may use; null: any valid slug. */
  readonly allowedProviders!: readonly string[] | null;
  /** The most associations one user may hold; more is a 409 (too_many_associations). Bounds every list. */
  readonly maxAssociationsPerUser!: number;
  /** The most requests of one user run at once by this process; more wait for a turn (ConcurrencyLimitGuard). */
  readonly maxConcurrentRequestsPerUser!: number;
}

/** One day: SelfCommunity's access tokens and identity providers' live minutes to hours. */
const DEFAULT_JWT_MAX_LIFETIME_SECONDS = 86_400;

/** HS256 without JWT_SECRET (development): the secret ensureDevelopmentSecret wrote. */
function developmentSecret(raw: Record<string, string | undefined>): string {
  const file = developmentSecretFile(raw);
  const secret = readDevelopmentSecret(file);
  if (secret === undefined) {
    throw new InvalidEnvironmentError([
      `JWT_SECRET: not set, and no development secret in ${file} (set JWT_SECRET, or start the service once to create it)`,
    ]);
  }
  return secret;
}

/** Reads and validates the environment; writes nothing (see ensureDevelopmentSecret for the one file entry points create). */
export function loadAppConfig(raw: Record<string, string | undefined>): AppConfig {
  const env = validateEnvironment(raw);
  const nodeEnv = env.NODE_ENV ?? 'development';
  const databasePath = resolve(env.DATABASE_PATH ?? DEFAULT_DATABASE_PATH);
  const db: DatabaseConfig = {
    ...(env.DATABASE_URL ? { engine: 'server', url: env.DATABASE_URL } : { engine: 'embedded', path: databasePath }),
    poolSize: env.DATABASE_POOL_SIZE ?? 10,
    migrationsRun: env.DATABASE_MIGRATIONS_RUN !== 'false',
    timeoutMs: env.DATABASE_TIMEOUT_MS ?? 3000,
  };

  const maxLifetimeSeconds = env.JWT_MAX_LIFETIME_SECONDS ?? DEFAULT_JWT_MAX_LIFETIME_SECONDS;
  // JWKS_URI selects the JWKS mode; validation made sure issuer and audience are set with it.
  const jwt: JwtConfig = env.JWKS_URI
    ? {
        mode: 'jwks',
        jwksUri: env.JWKS_URI,
        issuer: env.JWT_ISSUER!,
        audience: env.JWT_AUDIENCE!,
        algorithms: parseJwtAlgorithms(env.JWT_ALGORITHMS) as JwksAlgorithm[],
        userIdClaim: env.JWT_USER_ID_CLAIM ?? 'user_id',
        clockToleranceSeconds: 30,
        maxLifetimeSeconds,
      }
    : {
        mode: 'hs256',
        secret: env.JWT_SECRET ?? developmentSecret(raw),
        secretSource: env.JWT_SECRET ? 'environment' : 'generated-file',
        issuer: env.JWT_ISSUER,
        audience: env.JWT_AUDIENCE,
        clockToleranceSeconds: 30,
        maxLifetimeSeconds,
      };

  const config: AppConfig = {
    nodeEnv,
    http: {
      host: env.HOST ?? '0.0.0.0',
      port: env.PORT ?? 3000,
      bodyLimitBytes: 64 * 1024,
      requestTimeoutMs: env.HTTP_REQUEST_TIMEOUT_MS ?? 10_000,
      corsOrigins: env.CORS_ORIGINS ? [...new Set(env.CORS_ORIGINS.split(',').map((origin) => origin.trim()))] : [],
      shutdownDrainMs: env.SHUTDOWN_DRAIN_MS ?? 1000,
      trustProxy: env.TRUST_PROXY ? env.TRUST_PROXY.split(',').map((item) => item.trim()) : [],
    },
    db,
    jwt,
    logLevel: env.LOG_LEVEL ?? (nodeEnv === 'test' ? 'silent' : 'info'),
    rateLimit: {
      perMinute: env.RATE_LIMIT_PER_MINUTE ?? DEFAULT_RATE_LIMIT_PER_MINUTE,
      redis: env.REDIS_URL ? { url: env.REDIS_URL, keyPrefix: env.REDIS_KEY_PREFIX ?? 'social-associations:' } : null,
    },
    cluster: { workers: env.CLUSTER_WORKERS ?? 1 },
    webhooks: {
      allowPrivateNetworks: env.WEBHOOKS_ALLOW_PRIVATE_NETWORKS === 'true',
      timeoutMs: env.WEBHOOK_TIMEOUT_MS ?? 10_000,
      retryPeriodMs: (env.WEBHOOK_RETRY_PERIOD_SECONDS ?? 86_400) * 1000,
    },
    heapGrowingPercent: env.HEAP_GROWING_PERCENT ?? 0,
    allowedProviders: env.PROVIDERS ? [...new Set(env.PROVIDERS.split(',').map((slug) => slug.trim()))] : null,
    maxAssociationsPerUser: env.MAX_ASSOCIATIONS_PER_USER ?? 100,
    maxConcurrentRequestsPerUser: env.MAX_CONCURRENT_REQUESTS_PER_USER ?? 4,
  };
  return deepFreeze(Object.assign(new AppConfig(), config));
}

function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value)) {
    if (child && typeof child === 'object') deepFreeze(child as object);
  }
  return Object.freeze(value);
}
