import { describe, expect, it } from 'vitest';
import { loadAppConfig } from './app-config';
import { configProblems } from '../../test/support/config-problems';

const POSTGRES = { NODE_ENV: 'test', DATABASE_URL: 'postgres://app@db.internal:5432/app', JWT_SECRET: 'x'.repeat(32) };
const REDIS = { REDIS_URL: 'redis://cache.internal:6379' };

const problems = configProblems;

describe('CLUSTER_WORKERS', () => {
  it('defaults to 1: no cluster, also on the embedded database and with in-memory rate limiting', () => {
    const config = loadAppConfig({ NODE_ENV: 'test', DATABASE_PATH: '/tmp/unused-db', JWT_SECRET: 'x'.repeat(32) });
    expect(config.cluster).toEqual({ workers: 1 });
    expect(config.rateLimit).toMatchObject({ perMinute: 600, redis: null });
    expect(Object.isFrozen(config.cluster)).toBe(true);
  });

  it.each(['1', '2', '64'])('accepts %s with PostgreSQL and Redis', (workers) => {
    expect(loadAppConfig({ ...POSTGRES, ...REDIS, CLUSTER_WORKERS: workers }).cluster).toEqual({
      workers: Number(workers),
    });
  });

  it('accepts more than 1 without Redis when rate limiting is off', () => {
    const config = loadAppConfig({ ...POSTGRES, RATE_LIMIT_PER_MINUTE: '0', CLUSTER_WORKERS: '4' });
    expect(config.cluster.workers).toBe(4);
  });

  it.each(['0', '65', '-1', '2.5', 'two', '', ' 2'])('refuses CLUSTER_WORKERS=%j, naming it once', (workers) => {
    // Without REDIS_URL too: an invalid value is not also checked against the rules of more than 1.
    expect(problems({ ...POSTGRES, CLUSTER_WORKERS: workers })).toEqual([
      'CLUSTER_WORKERS: CLUSTER_WORKERS must be an integer from 1 to 64',
    ]);
  });

  it('refuses more than 1 on the embedded database (no DATABASE_URL): one process opens it', () => {
    const env = { NODE_ENV: 'test', DATABASE_PATH: '/tmp/unused-db', JWT_SECRET: 'x'.repeat(32), ...REDIS };
    expect(problems({ ...env, CLUSTER_WORKERS: '2' })).toEqual([
      expect.stringMatching(/^CLUSTER_WORKERS: more than 1 needs DATABASE_URL \(a PostgreSQL server\)/),
    ]);
    expect(problems({ ...env, CLUSTER_WORKERS: '1' })).toEqual([]);
  });

  it.each([
    ['the default rate limit', {}],
    ['RATE_LIMIT_PER_MINUTE=100', { RATE_LIMIT_PER_MINUTE: '100' }],
  ])('refuses more than 1 with %s and no REDIS_URL: the limit would be multiplied', (_name, rateLimit) => {
    expect(problems({ ...POSTGRES, ...rateLimit, CLUSTER_WORKERS: '2' })).toEqual([
      expect.stringMatching(/^CLUSTER_WORKERS: more than 1 with rate limiting on needs REDIS_URL/),
    ]);
  });

  it('names both problems at once, and never a value', () => {
    const found = problems({ NODE_ENV: 'test', JWT_SECRET: 'x'.repeat(32), CLUSTER_WORKERS: '8' });
    expect(found).toHaveLength(2);
    expect(found.every((problem) => problem.startsWith('CLUSTER_WORKERS: '))).toBe(true);
    expect(found.join('\n')).not.toContain('8');
  });
});
