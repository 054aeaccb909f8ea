import { Writable } from 'node:stream';
import { beforeEach, describe, expect, it } from 'vitest';
import { request } from '../support/http';
import { tokenFor } from '../support/tokens';
import { useTestApp } from '../support/use-test-app';

interface LogLine {
  level: number;
  reqId?: string;
  method?: string;
  route?: string;
  status?: number;
  duration_ms?: number;
}

/** One JSON log line per request, at LOG_LEVEL=info; never a token, an id from the URL or a query value. */
describe('request log', () => {
  let output = '';
  const lines = (): LogLine[] =>
    output
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as LogLine);
  /** Pino writes asynchronously to a stream: the line of a request may follow its response by a tick. */
  const lineOf = async (requestId: string): Promise<LogLine | undefined> => {
    for (let attempt = 0; attempt < 50; attempt += 1) {
      const line = lines().find((entry) => entry.reqId === requestId && entry.status !== undefined);
      if (line) return line;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return undefined;
  };

  const logStream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      output += chunk.toString('utf8');
      done();
    },
  });
  const t = useTestApp({ LOG_LEVEL: 'info' }, { logStream });
  const f = t.f;
  beforeEach(() => {
    output = '';
  });

  it('a success: method, route pattern, status and duration, under the request id the client got', async () => {
    const user = await f.makeUser();
    const token = tokenFor(user.id);
    const response = await request(t.baseUrl, 'GET', `/api/v2/user/${user.id}/provider/?secret_marker=zz-query-value`, {
      token,
    });
    expect(response.status).toBe(200);

    const line = await lineOf(response.headers.get('x-request-id') ?? '');
    expect(line).toMatchObject({ level: 30, method: 'GET', route: '/api/v2/user/:id/provider', status: 200 });
    expect(line?.duration_ms).toBeGreaterThanOrEqual(0);
    expect(output).not.toContain(token);
    expect(output).not.toContain(token.split('.')[2]);
    expect(output).not.toContain('zz-query-value');
  });

  it('a refused token and an unknown route are logged too, without the token', async () => {
    const token = `${tokenFor(1)}x`;
    const refused = await request(t.baseUrl, 'DELETE', '/api/v2/user/1/provider/', {
      token,
      body: { provider: 'google', ext_id: 'g-1' },
    });
    expect(refused.status).toBe(401);
    const unknown = await request(t.baseUrl, 'GET', '/no/such/route?token=zz-query-value');
    expect(unknown.status).toBe(404);

    expect(await lineOf(refused.headers.get('x-request-id') ?? '')).toMatchObject({ method: 'DELETE', status: 401 });
    expect(await lineOf(unknown.headers.get('x-request-id') ?? '')).toMatchObject({ method: 'GET', status: 404 });
    expect(output).not.toContain(token.split('.')[1]);
    expect(output).not.toContain('zz-query-value');
  });

  it('exactly one line per request', async () => {
    const before = lines().length;
    const responses = await Promise.all(
      Array.from({ length: 5 }, () => request(t.baseUrl, 'GET', '/api/v2/user/1/provider/')),
    );
    await Promise.all(responses.map((response) => lineOf(response.headers.get('x-request-id') ?? '')));
    expect(lines().length - before).toBe(5);
  });
});
