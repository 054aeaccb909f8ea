import { describe, expect, it } from 'vitest';
import { isClusterPrimary, restartDelayMs } from './cluster';
import { loadAppConfig } from './config/app-config';

describe('cluster', () => {
  it('a dead worker is restarted after 1 s, doubling while it keeps dying, never more than 30 s apart', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 50].map(restartDelayMs)).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });

  it('only CLUSTER_WORKERS > 1 makes this process a cluster primary', () => {
    const base = {
      NODE_ENV: 'test',
      JWT_SECRET: 'x'.repeat(32),
      DATABASE_URL: 'postgres://h/d',
      REDIS_URL: 'redis://h',
    };
    expect(isClusterPrimary(loadAppConfig(base))).toBe(false);
    expect(isClusterPrimary(loadAppConfig({ ...base, CLUSTER_WORKERS: '1' }))).toBe(false);
    expect(isClusterPrimary(loadAppConfig({ ...base, CLUSTER_WORKERS: '2' }))).toBe(true);
  });
});
