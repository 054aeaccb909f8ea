import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** Where the embedded database lives when DATABASE_PATH is unset. */
export const DEFAULT_DATABASE_PATH = './data/postgres';
const SECRET_FILE = '.jwt-secret';
/** 32 bytes is the HS256 key size RFC 7518 §3.2 asks for. */
export const MIN_SECRET_LENGTH = 32;

/** The development secret's file: beside the embedded database's folder. */
export function developmentSecretFile(raw: Record<string, string | undefined>): string {
  return join(dirname(resolve(raw.DATABASE_PATH ?? DEFAULT_DATABASE_PATH)), SECRET_FILE);
}

/** The secret in the development secret file, or undefined when there is none (or it is too short to be one). */
export function readDevelopmentSecret(file: string): string | undefined {
  try {
    const secret = readFileSync(file, 'utf8').trim();
    return secret.length >= MIN_SECRET_LENGTH ? secret : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Development convenience, run by the entry points (server, CLI, migrations) before
 * they load the configuration, which itself writes nothing: with no JWT_SECRET and no
 * JWKS_URI outside production, a secret is generated once into a file beside the
 * embedded database, so the server and the CLI's tokens share it across restarts.
 */
export function ensureDevelopmentSecret(raw: Record<string, string | undefined>): void {
  if (raw.JWT_SECRET !== undefined || raw.JWKS_URI !== undefined || raw.NODE_ENV === 'production') return;
  const file = developmentSecretFile(raw);
  if (readDevelopmentSecret(file) !== undefined) return;
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${randomBytes(48).toString('base64url')}\n`, { mode: 0o600 });
}
