import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadAppConfig } from './app-config';
import { ensureDevelopmentSecret } from './development-secret';
import { InvalidEnvironmentError } from './env.schema';

const SECRET = 'a-production-secret-that-is-48-characters-long!!';

/** The error loadAppConfig throws for `env`, which must be an InvalidEnvironmentError. */
function configError(env: Record<string, string | undefined>): InvalidEnvironmentError {
  let thrown: unknown;
  try {
    loadAppConfig(env);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(InvalidEnvironmentError);
  return thrown as InvalidEnvironmentError;
}

describe('loadAppConfig', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'app-config-spec-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const databasePath = () => join(dir, 'data', 'postgres');

  describe('production', () => {
    it('fails without JWT_SECRET, naming JWT_SECRET and printing no value', () => {
      const dbPassword = 'hunter2-database-password';
      const error = configError({
        NODE_ENV: 'production',
        DATABASE_URL: `postgres://app:${dbPassword}@db.internal:5432/app`,
      });
      expect(error.message).toMatch(/JWT_SECRET/);
      expect(error.problems).toEqual([expect.stringMatching(/^JWT_SECRET: /)]);
      expect(error.message).not.toContain(dbPassword);
      expect(error.message).not.toContain('db.internal');
    });

    it('does not generate a secret file in production', () => {
      ensureDevelopmentSecret({ NODE_ENV: 'production', DATABASE_PATH: databasePath() });
      configError({ NODE_ENV: 'production', DATABASE_PATH: databasePath() });
      expect(readdirSync(dir)).toEqual([]);
    });

    it('starts with a JWT_SECRET from the environment', () => {
      const config = loadAppConfig({ NODE_ENV: 'production', JWT_SECRET: SECRET, DATABASE_PATH: databasePath() });
      expect(config.nodeEnv).toBe('production');
      expect(config.jwt).toMatchObject({ mode: 'hs256', secret: SECRET, secretSource: 'environment' });
      expect(readdirSync(dir)).toEqual([]);
    });
  });

  describe('invalid variables are named, their values never printed', () => {
    it('a JWT_SECRET shorter than 32 characters', () => {
      const shortSecret = 'x'.repeat(9) + '-short-secret-31-chars';
      expect(shortSecret).toHaveLength(31);
      const error = configError({ JWT_SECRET: shortSecret, DATABASE_PATH: databasePath() });
      expect(error.problems).toEqual([expect.stringMatching(/^JWT_SECRET: .*32/)]);
      expect(error.message).not.toContain(shortSecret);
    });

    it.each(['not-a-port', '70000', '-1', '80.5', ''])('PORT %j', (port) => {
      const error = configError({ JWT_SECRET: SECRET, DATABASE_PATH: databasePath(), PORT: port });
      expect(error.problems.length).toBeGreaterThan(0);
      expect(error.problems.every((problem) => problem.startsWith('PORT: '))).toBe(true);
      if (port.length > 2) expect(error.message).not.toContain(port);
    });

    it.each([
      ['mysql', 'mysql://root:mysql-s3cret@db/app'],
      ['a file URL', 'file:///tmp/app.db'],
      ['http', 'http://user:http-s3cret@db'],
      ['a bare path', '/var/lib/app.db'],
    ])('DATABASE_URL that is not a postgres:// URL (%s)', (_name, url) => {
      const error = configError({ JWT_SECRET: SECRET, DATABASE_URL: url });
      expect(error.problems).toEqual([expect.stringMatching(/^DATABASE_URL: .*postgres/)]);
      expect(error.message).not.toContain(url);
      expect(error.message).not.toMatch(/s3cret/);
    });

    it.each(['-1', '401', '12.5', 'fast'])('HEAP_GROWING_PERCENT %j', (value) => {
      const error = configError({ JWT_SECRET: SECRET, DATABASE_PATH: databasePath(), HEAP_GROWING_PERCENT: value });
      expect(error.problems.length).toBeGreaterThan(0);
      expect(error.problems.every((problem) => problem.startsWith('HEAP_GROWING_PERCENT: '))).toBe(true);
    });

    it.each(['10.0.0.0/33', '999.1.1.1', 'proxy.internal', '10.0.0.1/8/1', '::1/129', 'loopback,'])(
      'TRUST_PROXY %j',
      (value) => {
        const error = configError({ JWT_SECRET: SECRET, DATABASE_PATH: databasePath(), TRUST_PROXY: value });
        expect(error.problems).toEqual([expect.stringMatching(/^TRUST_PROXY: /)]);
      },
    );

    it('names every invalid variable at once', () => {
      const error = configError({ NODE_ENV: 'staging', PORT: 'x', JWT_SECRET: 'short', DATABASE_URL: 'mysql://x' });
      const named = error.problems.map((problem) => problem.split(':')[0]);
      expect(new Set(named)).toEqual(new Set(['NODE_ENV', 'PORT', 'JWT_SECRET', 'DATABASE_URL']));
      expect(error.message).not.toContain('short');
    });

    it('accepts a postgres:// and a postgresql:// DATABASE_URL', () => {
      for (const url of ['postgres://u:p@h:5432/d', 'postgresql://u:p@h/d']) {
        expect(loadAppConfig({ JWT_SECRET: SECRET, DATABASE_URL: url }).db).toMatchObject({ engine: 'server', url });
      }
    });
  });

  describe('development without JWT_SECRET', () => {
    it('loading the configuration writes nothing: without the secret file it names JWT_SECRET', () => {
      const error = configError({ NODE_ENV: 'development', DATABASE_PATH: databasePath() });
      expect(error.problems).toEqual([expect.stringMatching(/^JWT_SECRET: not set, and no development secret in /)]);
      expect(readdirSync(dir)).toEqual([]);
    });

    it('the entry points create a secret file in the data folder, and it is reused', () => {
      ensureDevelopmentSecret({ NODE_ENV: 'development', DATABASE_PATH: databasePath() });
      const first = loadAppConfig({ NODE_ENV: 'development', DATABASE_PATH: databasePath() });
      expect(first.jwt).toMatchObject({ mode: 'hs256', secretSource: 'generated-file' });
      const secret = first.jwt.mode === 'hs256' ? first.jwt.secret : '';
      expect(secret.length).toBeGreaterThanOrEqual(32);

      const file = join(dir, 'data', '.jwt-secret');
      expect(readFileSync(file, 'utf8').trim()).toBe(secret);
      expect(statSync(file).mode & 0o777).toBe(0o600);

      ensureDevelopmentSecret({ DATABASE_PATH: databasePath() });
      const second = loadAppConfig({ DATABASE_PATH: databasePath() });
      expect(second.jwt).toMatchObject({ secret, secretSource: 'generated-file' });
    });

    it('replaces a secret file too short to be a secret', () => {
      const file = join(dir, '.jwt-secret');
      writeFileSync(file, 'short\n');
      ensureDevelopmentSecret({ DATABASE_PATH: join(dir, 'postgres') });
      const config = loadAppConfig({ DATABASE_PATH: join(dir, 'postgres') });
      const secret = config.jwt.mode === 'hs256' ? config.jwt.secret : '';
      expect(secret).not.toBe('short');
      expect(secret.length).toBeGreaterThanOrEqual(32);
      expect(readFileSync(file, 'utf8').trim()).toBe(secret);
    });

    it('prefers JWT_SECRET from the environment and writes no file', () => {
      ensureDevelopmentSecret({ DATABASE_PATH: databasePath(), JWT_SECRET: SECRET });
      const config = loadAppConfig({ DATABASE_PATH: databasePath(), JWT_SECRET: SECRET });
      expect(config.jwt).toMatchObject({ secret: SECRET, secretSource: 'environment' });
      expect(readdirSync(dir)).toEqual([]);
    });
  });

  describe('the result', () => {
    it('TRUST_PROXY: addresses, ranges and keywords; none by default', () => {
      const env = { JWT_SECRET: SECRET, DATABASE_PATH: databasePath() };
      expect(loadAppConfig(env).http.trustProxy).toEqual([]);
      const config = loadAppConfig({ ...env, TRUST_PROXY: '10.0.0.0/8, 192.168.1.7,loopback,fd00::/8' });
      expect(config.http.trustProxy).toEqual(['10.0.0.0/8', '192.168.1.7', 'loopback', 'fd00::/8']);
    });

    it('HEAP_GROWING_PERCENT bounds the heap growth when set', () => {
      const config = loadAppConfig({ JWT_SECRET: SECRET, DATABASE_PATH: databasePath(), HEAP_GROWING_PERCENT: '25' });
      expect(config.heapGrowingPercent).toBe(25);
    });

    it('is typed with defaults and frozen', () => {
      const config = loadAppConfig({ JWT_SECRET: SECRET, DATABASE_PATH: databasePath(), PORT: '8080' });
      expect(config.http).toMatchObject({ port: 8080, bodyLimitBytes: 64 * 1024 });
      expect(config.db).toMatchObject({ engine: 'embedded', path: databasePath(), poolSize: 10, timeoutMs: 3000 });
      expect(config.jwt).toMatchObject({ clockToleranceSeconds: 30 });
      expect(config.heapGrowingPercent).toBe(0);
      expect(Object.isFrozen(config)).toBe(true);
      expect(Object.isFrozen(config.jwt)).toBe(true);
      expect(() => {
        (config.http as { port: number }).port = 1;
      }).toThrow(TypeError);
    });
  });
});
