import { DomainError } from '../common/errors/domain-error';

/** Recognising database failures by what node-postgres reports: SQLSTATE codes, or socket errors. */
interface DriverError {
  code?: unknown;
  message?: unknown;
  driverError?: DriverError;
}

function driverCode(error: unknown): string | undefined {
  if (!error || typeof error !== 'object') return undefined;
  const e = error as DriverError;
  const code = e.driverError?.code ?? e.code;
  return typeof code === 'string' ? code : undefined;
}

export function isUniqueViolation(error: unknown): boolean {
  const code = driverCode(error);
  return code === '23505';
}

const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
  '57014', // query_canceled: statement_timeout (DATABASE_TIMEOUT_MS) elapsed
  '55P03', // lock_not_available: lock_timeout (DATABASE_TIMEOUT_MS) elapsed
  'EMFILE', // no file descriptor left for a new connection
  'ENFILE',
  'ENOENT', // the embedded engine's socket is gone (its process stopped)
]);

const UNAVAILABLE_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error',
  'Connection is not established',
  'Query read timeout',
  'not queryable',
];

/** True when the error says the database could not be reached, not that the query was wrong. */
export function isDatabaseUnavailable(error: unknown): boolean {
  const code = driverCode(error);
  if (code && UNAVAILABLE_CODES.has(code)) return true;
  const message = error instanceof Error ? error.message : '';
  return UNAVAILABLE_MESSAGES.some((fragment) => message.includes(fragment));
}

/**
 * The database's errors in domain terms, for the error filter (registered in
 * AppModule): a unique violation no service expected is a 409, an unreachable or
 * overloaded database a 503.
 */
export function translateDatabaseError(error: unknown): DomainError | undefined {
  if (isUniqueViolation(error)) {
    return new DomainError('conflict', 'The resource conflicts with one that already exists');
  }
  if (isDatabaseUnavailable(error)) {
    return new DomainError('service_unavailable', 'The service is temporarily unavailable; retry later');
  }
  return undefined;
}
