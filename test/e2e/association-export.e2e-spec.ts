import { beforeEach, describe, expect, it } from 'vitest';
import { request } from '../support/http';
import { seedAssociations } from '../support/seed-associations';
import { openStream } from '../support/streaming-request';
import { tokenFor } from '../support/tokens';
import { useTestApp } from '../support/use-test-app';

const EXPORT = '/api/v2/social-associations/export/';

describe('GET /api/v2/social-associations/export/ (NDJSON)', () => {
  const t = useTestApp();
  const f = t.f;
  let admin: string;
  beforeEach(async () => {
    admin = tokenFor((await f.makeAdmin()).id);
  });

  const lines = (text: string) =>
    text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);

  it('one association a line, newest first, the same rows and fields as the search', async () => {
    const user = await f.makeUser();
    await f.link(user.id, { provider: 'google', ext_id: 'g-1', profile_url: 'https://example.org/u' });
    await f.link(user.id, { provider: 'external', ext_id: 'x-1', metadata: { tenant: 'acme', n: [1, 2] } });
    await f.link(user.id, { provider: 'github', ext_id: 'h-1', show_in_profile: true });

    const response = await request(t.baseUrl, 'GET', EXPORT, { token: admin });
    expect(response.status, response.text).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8');
    expect(response.text.endsWith('\n')).toBe(true);
    const search = await request(t.baseUrl, 'GET', '/api/v2/social-associations/', { token: admin });
    expect(lines(response.text)).toEqual(search.body.results);
    expect(lines(response.text).map((row) => row.ext_id)).toEqual(['h-1', 'x-1', 'g-1']);
    expect(lines(response.text)[1]).toMatchObject({ metadata: { tenant: 'acme', n: [1, 2] }, profile_url: null });
  });

  it('the filters apply, as in the search', async () => {
    const user = await f.makeUser();
    await f.link(user.id, { provider: 'google', ext_id: 'g-1' });
    await f.link(user.id, { provider: 'github', ext_id: 'h-1' });
    const response = await request(t.baseUrl, 'GET', `${EXPORT}?provider=github`, { token: admin });
    expect(lines(response.text).map((row) => row.ext_id)).toEqual(['h-1']);
  });

  it('an export with no match is an empty 200', async () => {
    const response = await request(t.baseUrl, 'GET', `${EXPORT}?provider=nobody`, { token: admin });
    expect(response.status).toBe(200);
    expect(response.text).toBe('');
  });

  it('more rows than one read of the database (several batches): every one, once, in order', async () => {
    const user = await f.makeUser();
    await seedAssociations(t, user.id, 2_500);
    const response = await request(t.baseUrl, 'GET', EXPORT, { token: admin });
    const ids = lines(response.text).map((row) => row.ext_id);
    expect(ids).toHaveLength(2_500);
    expect(new Set(ids).size).toBe(2_500);
    expect(ids[0]).toBe('e-2500');
    expect(ids.at(-1)).toBe('e-1');
  });

  it('a client that goes away mid-export ends it: its slot is free again, the database answers others', async () => {
    const user = await f.makeUser();
    await seedAssociations(t, user.id, 20_000);
    // MAX_CONCURRENT_EXPORTS (2) exports started and dropped after their first bytes, three times over:
    // had a dropped export kept its slot, the later ones would be refused with a 429.
    for (let round = 0; round < 3; round += 1) {
      for (let i = 0; i < 2; i += 1) {
        const stream = await openStream(t.baseUrl, EXPORT, admin);
        expect(stream.status).toBe(200);
        expect(stream.firstChunk.length).toBeGreaterThan(0);
        stream.disconnect();
      }
      // The server notices the closed sockets and ends the exports.
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    const complete = await request(t.baseUrl, 'GET', `${EXPORT}?ext_id=e-7`, { token: admin });
    expect(complete.status, complete.text).toBe(200);
    expect(lines(complete.text)).toHaveLength(1);
  });
});
