import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { NodeEnv, validateEnvironment } from './env.schema';

export type DatabaseConfig =
  | { type: 'postgres'; url: string; poolSize: number; migrationsRun: boolean }
  | { type: 'sqlite'; path: string; migrationsRun: boolean };

export interface JwtConfig {
  /** HS256 shared secret. */
  secret: string;
  /** Where the secret came from, so start-up can say so (never the value). */
  secretSource: 'environment' | 'generated-file';
  issuer?: string;
  audience?: string;
  /** Seconds of clock skew tolerated on `iat`/`exp`. */
  clockToleranceSeconds: number;
}

export interface HttpConfig {
  host: string;
  port: number;
  /** Largest request body accepted, in bytes; larger is a 413. */
  bodyLimitBytes: number;
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
  /** Providers a new association may use; null: any valid slug. */
  readonly allowedProviders!: readonly string[] | null;
}

const DEFAULT_SQLITE_PATH = './data/app.sqlite';
const DEV_SECRET_FILE = '.jwt-secret';

/**
 * Development convenience: with no JWT_SECRET, generate one once and keep it next
 * to the SQLite file, so tokens issued by the CLI survive restarts.
 */
function readOrCreateDevSecret(dataDir: string): string {
  const file = join(dataDir, DEV_SECRET_FILE);
  try {
    const existing = readFileSync(file, 'utf8').trim();
    if (existing.length >= 32) return existing;
  } catch {
    // Not there yet: create it below.
  }
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(48).toString('base64url');
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}

export function loadAppConfig(raw: Record<string, string | undefined>): AppConfig {
  const env = validateEnvironment(raw);
  const nodeEnv = env.NODE_ENV ?? 'development';
  const sqlitePath = resolve(env.DATABASE_PATH ?? DEFAULT_SQLITE_PATH);
  const migrationsRun = env.DATABASE_MIGRATIONS_RUN !== 'false';

  const db: DatabaseConfig = env.DATABASE_URL
    ? { type: 'postgres', url: env.DATABASE_URL, poolSize: env.DATABASE_POOL_SIZE ?? 10, migrationsRun }
    : { type: 'sqlite', path: sqlitePath, migrationsRun };

  const jwt: JwtConfig = {
    secret: env.JWT_SECRET ?? readOrCreateDevSecret(dirname(sqlitePath)),
    secretSource: env.JWT_SECRET ? 'environment' : 'generated-file',
    issuer: env.JWT_ISSUER,
    audience: env.JWT_AUDIENCE,
    clockToleranceSeconds: 30,
  };

  const config: AppConfig = {
    nodeEnv,
    http: { host: env.HOST ?? '0.0.0.0', port: env.PORT ?? 3000, bodyLimitBytes: 64 * 1024 },
    db,
    jwt,
    logLevel: env.LOG_LEVEL ?? (nodeEnv === 'test' ? 'silent' : 'info'),
    allowedProviders: env.PROVIDERS ? [...new Set(env.PROVIDERS.split(',').map((slug) => slug.trim()))] : null,
  };
  return deepFreeze(Object.assign(new AppConfig(), config));
}

function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value)) {
    if (child && typeof child === 'object') deepFreeze(child as object);
  }
  return Object.freeze(value);
}
