import { plainToInstance, Transform } from 'class-transformer';
import {
  IsBooleanString,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  MinLength,
  validateSync,
  ValidationError,
} from 'class-validator';

export const NODE_ENVS = ['development', 'production', 'test'] as const;
export type NodeEnv = (typeof NODE_ENVS)[number];

const toInt = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;

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

  @IsOptional()
  @Matches(/^postgres(ql)?:\/\/.+/, { message: 'DATABASE_URL must be a postgres:// URL' })
  DATABASE_URL?: string;

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
  // 32 bytes is the HS256 key size RFC 7518 §3.2 asks for.
  @MinLength(32, { message: 'JWT_SECRET must be at least 32 characters' })
  JWT_SECRET?: string;

  @IsOptional()
  @IsString()
  JWT_ISSUER?: string;

  @IsOptional()
  @IsString()
  JWT_AUDIENCE?: string;

  /** Comma-separated allow-list of provider slugs; unset: any valid slug. */
  @IsOptional()
  @Matches(/^\s*[a-z0-9][a-z0-9_-]{0,31}\s*(,\s*[a-z0-9][a-z0-9_-]{0,31}\s*)*$/, {
    message: 'PROVIDERS must be a comma-separated list of provider slugs, e.g. google,github,keycloak',
  })
  PROVIDERS?: string;

  @IsOptional()
  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL?: string;
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

export function validateEnvironment(raw: Record<string, unknown>): EnvironmentVariables {
  const env = plainToInstance(EnvironmentVariables, raw, { excludeExtraneousValues: false });
  const problems = describe(validateSync(env, { skipMissingProperties: false }));
  if ((env.NODE_ENV ?? 'development') === 'production' && !env.JWT_SECRET) {
    problems.push('JWT_SECRET: must be set in production (at least 32 characters, e.g. `openssl rand -base64 48`)');
  }
  if (problems.length > 0) throw new InvalidEnvironmentError(problems);
  return env;
}
