import { Agent } from 'node:http';
import { connect, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { sendRaw } from '../support/raw-http';
import { useServiceProcess } from '../support/service-build';
import { queryTestDatabase } from '../support/test-database';
import { tokenFor } from '../support/tokens';

/** What the server answered on a socket, and when it closed it, in ms after the socket opened. */
interface Cut {
  status: number | undefined;
  closedAfterMs: number;
}

/**
 * Opens a socket and sends `head`, then one byte of `trickle` every `everyMs`
 * until the server closes the connection.
 */
function stall(port: number, head: string, trickle: string, everyMs: number): Promise<Cut> {
  return new Promise((resolve) => {
    const opened = performance.now();
    let answer = '';
    let timer: NodeJS.Timeout | undefined;
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(head);
      let sent = 0;
      timer = setInterval(() => {
        if (sent < trickle.length && socket.writable) socket.write(trickle[sent++]);
      }, everyMs);
    });
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(timer);
      const status = /^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1];
      resolve({ status: status ? Number(status) : undefined, closedAfterMs: performance.now() - opened });
    });
  });
}

/** A stalled request body: its headers, then nothing, held open by the caller (`closed` once the server closes it). */
function openStalled(port: number): Promise<(Socket & { closed: boolean }) | undefined> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(
        'POST /api/v2/user/provider/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 60000\r\n\r\n{',
      );
      resolve(socket);
    });
    socket.resume(); // read (and drop) whatever the server answers, so its close is seen
    socket.on('error', () => resolve(undefined));
  });
}

describe('clients that send slowly, or stall', () => {
  const processes = useServiceProcess();

  const makeUser = async (): Promise<number> =>
    (
      await queryTestDatabase<{ id: number }>(
        processes.database,
        "INSERT INTO users (username) VALUES ('slow-' || md5(random()::text)) RETURNING id",
      )
    )[0].id;

  it('with the defaults: headers that trickle are cut at 5 s, a body that stalls at 10 s, each with a 408', async () => {
    const service = processes.start({ PORT: '0', ...processes.database.env });
    const port = await service.listening();
    const [headers, body] = await Promise.all([
      stall(port, 'GET /health/live HTTP/1.1\r\n', 'Host: x\r\nX-Slow: yes\r\n'.repeat(100), 500),
      stall(
        port,
        'POST /api/v2/user/provider/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 60000\r\n\r\n',
        '{"a":1}'.repeat(10_000),
        500,
      ),
    ]);
    expect(headers.status).toBe(408);
    expect(headers.closedAfterMs).toBeGreaterThan(4500);
    expect(headers.closedAfterMs).toBeLessThan(6500);
    expect(body.status).toBe(408);
    expect(body.closedAfterMs).toBeGreaterThan(9500);
    expect(body.closedAfterMs).toBeLessThan(11_500);
  }, 30_000);

  it('HTTP_REQUEST_TIMEOUT_MS bounds the whole request', async () => {
    const service = processes.start({ PORT: '0', HTTP_REQUEST_TIMEOUT_MS: '2000', ...processes.database.env });
    const port = await service.listening();
    const body = await stall(
      port,
      'POST /api/v2/user/provider/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 60000\r\n\r\n',
      '{"a":1}'.repeat(10_000),
      200,
    );
    expect(body.status).toBe(408);
    expect(body.closedAfterMs).toBeGreaterThan(1500);
    expect(body.closedAfterMs).toBeLessThan(3500);
  });

  it('1,500 stalled sockets under a limit of 512 open files: a connected client is still answered, never with a 5xx, and the stalled ones are cut', async () => {
    const userId = await makeUser();
    const service = processes.start(
      { PORT: '0', HTTP_REQUEST_TIMEOUT_MS: '3000', ...processes.database.env },
      { openFilesLimit: 512 },
    );
    const port = await service.listening();
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const me = () =>
      sendRaw(port, 'GET', '/api/v2/user/me/', { agent, headers: { authorization: `Bearer ${tokenFor(userId)}` } });
    expect((await me()).status).toBe(200);

    const stalled = (await Promise.all(Array.from({ length: 1500 }, () => openStalled(port)))).filter(
      (socket) => socket !== undefined,
    );
    const during: (number | undefined)[] = [];
    for (let i = 0; i < 10; i++) {
      during.push((await me()).status);
      await sleep(100);
    }
    expect(during).toEqual(Array(10).fill(200));

    // Past the request timeout every stalled socket has been closed by the server.
    await sleep(4500);
    expect(stalled.filter((socket) => !socket.closed).length).toBe(0);
    // And a new client gets in again.
    expect(
      (await sendRaw(port, 'GET', '/api/v2/user/me/', { headers: { authorization: `Bearer ${tokenFor(userId)}` } }))
        .status,
    ).toBe(200);
    agent.destroy();
    for (const socket of stalled) socket.destroy();
  }, 60_000);
});
