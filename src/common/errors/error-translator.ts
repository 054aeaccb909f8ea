import { DomainError } from './domain-error';

/**
 * Says what an error raised below the services means (a database driver's, say),
 * or undefined when it does not know it. The layer that knows such errors writes
 * its translator and the application module registers it (ERROR_TRANSLATORS), so
 * the error filter knows no layer beneath it.
 */
export type ErrorTranslator = (error: unknown) => DomainError | undefined;

export const ERROR_TRANSLATORS = Symbol('ERROR_TRANSLATORS');
