import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, TestApp } from '../support/create-test-app';
import { factories } from '../support/factories';
import { request } from '../support/http';
import { tokenFor } from '../support/tokens';

/**
 * The per-user turn (MAX_CONCURRENT_REQUESTS_PER_USER) is given back however a
 * request ends. With one turn per user, a single turn kept by mistake would make
 * the user's next request wait, and get a 503 after half of DATABASE_TIMEOUT_MS.
 */
describe('MAX_CONCURRENT_REQUESTS_PER_USER: every way a request ends gives its turn back', () => {
  let t: TestApp;
  let userId: number;
  let token: string;
  const list = () => request(t.baseUrl, 'GET', `/api/v2/user/${userId}/provider/`, { token });

  beforeAll(async () => {
    t = await createTestApp({ MAX_CONCURRENT_REQUESTS_PER_USER: '1', DATABASE_TIMEOUT_MS: '1000' });
    userId = (await factories(t).makeUser()).id;
    token = tokenFor(userId);
  }, 60_000);
  afterAll(() => t.close());

  it('after answers of every kind (200, 201, 204, 400 from the pipe after the guard, 404, 409), one after another', async () => {
    const path = `/api/v2/user/${userId}/provider/`;
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const identity = { provider: 'github', ext_id: `turn-${i}` };
      statuses.push((await request(t.baseUrl, 'POST', path, { token, body: identity })).status);
      statuses.push((await request(t.baseUrl, 'POST', path, { token, body: identity })).status);
      statuses.push((await request(t.baseUrl, 'POST', path, { token, body: { provider: 'Not A Slug' } })).status);
      statuses.push((await request(t.baseUrl, 'DELETE', path, { token, body: identity })).status);
      statuses.push((await request(t.baseUrl, 'DELETE', path, { token, body: identity })).status);
      statuses.push((await list()).status);
    }
    expect(statuses).toEqual(Array.from({ length: 5 }, () => [201, 409, 400, 204, 404, 200]).flat());
  });

  it('after clients that hang up while their request runs', async () => {
    const { port } = new URL(t.baseUrl);
    const body = JSON.stringify({ provider: 'github', ext_id: 'gone' });
    for (let i = 0; i < 10; i++) {
      const socket = connect(Number(port), '127.0.0.1');
      await new Promise<void>((resolve) => socket.once('connect', resolve));
      socket.end(
        `POST /api/v2/user/${userId}/provider/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      socket.destroy();
    }
    // The hung-up requests finish on their own; a turn still held would show as a 503 below.
    await sleep(300);
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await list()).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
  });

  it('20 requests of the user at once: they take the one turn in order, none is refused', async () => {
    const answers = await Promise.all(Array.from({ length: 20 }, () => list()));
    expect(answers.map((answer) => answer.status)).toEqual(Array.from({ length: 20 }, () => 200));
    expect((await list()).status).toBe(200);
  });
});
