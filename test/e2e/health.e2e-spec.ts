import { describe, expect, it } from 'vitest';
import { request } from '../support/http';
import { useTestApp } from '../support/use-test-app';

describe('health probes', () => {
  const t = useTestApp();

  describe('GET /health/live', () => {
    it.each(['/health/live', '/health/live/'])('200 without authentication (%s)', async (path) => {
      const response = await request(t.baseUrl, 'GET', path);
      expect(response.status, response.text).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect(response.body).toMatchObject({ status: 'ok' });
      expect(response.headers.get('x-request-id')).toMatch(/^[A-Za-z0-9._:-]{1,64}$/);
    });

    it('200 even with an invalid token (the probe ignores authentication)', async () => {
      const response = await request(t.baseUrl, 'GET', '/health/live', { token: 'garbage' });
      expect(response.status, response.text).toBe(200);
    });
  });

  describe('GET /health/ready', () => {
    it.each(['/health/ready', '/health/ready/'])('200 with the database up (%s)', async (path) => {
      const response = await request(t.baseUrl, 'GET', path);
      expect(response.status, response.text).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect(response.body).toMatchObject({ status: 'ok', details: { database: { status: 'up' } } });
    });

    it('the body says nothing about the database beyond up/down', async () => {
      const response = await request(t.baseUrl, 'GET', '/health/ready');
      expect(response.text).not.toMatch(/postgres:|pglite|password|\/tmp\//i);
    });

    it('a flood of probes asks the database once a second at most', async () => {
      await new Promise((resolve) => setTimeout(resolve, 1100)); // past any earlier probe's answer
      const query = t.dataSource.query.bind(t.dataSource);
      let pings = 0;
      t.dataSource.query = ((sql: string, ...rest: unknown[]) => {
        if (sql === 'SELECT 1') pings++;
        return query(sql, ...(rest as []));
      }) as typeof t.dataSource.query;
      try {
        const started = Date.now();
        const statuses = await Promise.all(
          Array.from({ length: 200 }, () => request(t.baseUrl, 'GET', '/health/ready')),
        );
        const seconds = Math.ceil((Date.now() - started) / 1000);
        expect(new Set(statuses.map((response) => response.status))).toEqual(new Set([200]));
        expect(pings).toBeGreaterThanOrEqual(1);
        expect(pings).toBeLessThanOrEqual(seconds + 1);
      } finally {
        t.dataSource.query = query;
      }
    });
  });
});
