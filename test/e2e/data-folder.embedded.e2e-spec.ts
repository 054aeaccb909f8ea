import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sendRaw } from '../support/raw-http';
import { buildServiceCopy, CliResult, ServiceBuild, ServiceProcess } from '../support/service-build';
import { createTestDatabase, queryTestDatabase, TestDatabase } from '../support/test-database';
import { tokenFor } from '../support/tokens';

/**
 * The embedded engine as processes use it: the built service and CLI on one
 * DATABASE_PATH, started, stopped and killed the way operators (and crashes) do.
 */
describe('the embedded database folder (DATABASE_PATH)', () => {
  let build: ServiceBuild;
  let database: TestDatabase;
  const started: ServiceProcess[] = [];

  beforeAll(() => {
    build = buildServiceCopy();
  }, 120_000);
  beforeEach(async () => {
    database = await createTestDatabase();
  });
  afterEach(async () => {
    for (const service of started.splice(0)) {
      service.child.kill('SIGKILL');
      await service.exited;
    }
    await database.drop();
  });

  const start = (): ServiceProcess => {
    const service = build.start({ PORT: '0', ...database.env });
    started.push(service);
    return service;
  };

  /** Queries the folder's database as the CLI does: through the server when one runs, else opening it. */
  const sql = <R>(text: string, values: unknown[] = []): Promise<R[]> => queryTestDatabase<R>(database, text, values);

  const makeUsers = async (count: number): Promise<number[]> =>
    (
      await sql<{ id: number }>(
        "INSERT INTO users (username) SELECT 'u' || g || '-' || $2 FROM generate_series(1, $1::int) g RETURNING id",
        [count, randomUUID()],
      )
    ).map((row) => row.id);

  const link = (port: number, userId: number, extId: string) =>
    sendRaw(port, 'POST', `/api/v2/user/${userId}/provider/`, {
      headers: { authorization: `Bearer ${tokenFor(userId)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ provider: 'google', ext_id: extId }),
    });

  const jsonLine = (result: CliResult): Record<string, unknown> => {
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as Record<string, unknown>;
  };

  it('keeps what was written across a restart', async () => {
    const [userId] = await makeUsers(1);
    const first = start();
    const port = await first.listening();
    expect((await link(port, userId, 'kept')).status).toBe(201);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    const second = start();
    const list = await sendRaw(await second.listening(), 'GET', `/api/v2/user/${userId}/provider/`, {
      headers: { authorization: `Bearer ${tokenFor(userId)}` },
    });
    expect(list.status).toBe(200);
    expect(JSON.parse(list.body!)).toEqual([expect.objectContaining({ provider: 'google', ext_id: 'kept' })]);
  });

  it('a second server on the same folder exits 1 saying the folder is in use; the first keeps serving', async () => {
    const first = start();
    const port = await first.listening();
    const second = start();
    expect(await second.exited).toBe(1);
    const fatal = second.logs.find((line) => line.msg === 'start-up failed');
    expect(fatal?.err).toMatchObject({
      message: expect.stringContaining(`DATABASE_PATH ${database.env.DATABASE_PATH} is in use by another process`),
    });
    expect((await sendRaw(port, 'GET', '/health/ready')).status).toBe(200);
  }, 60_000);

  it('kill -9 in the middle of a burst of creates loses none that was answered 201; the folder opens again', async () => {
    const users = await makeUsers(40);
    const service = start();
    const port = await service.listening();
    const answered: string[] = [];
    let killed = false;
    // 16 clients create identities as fast as the service answers, until it is killed.
    const clients = Array.from({ length: 16 }, async (_, client) => {
      for (let n = 0; !killed; n++) {
        const extId = `burst-${client}-${n}`;
        const outcome = await link(port, users[(client + n * 16) % users.length], extId);
        if (outcome.status === 201) answered.push(extId);
      }
    });
    while (answered.length < 300) await sleep(10);
    service.child.kill('SIGKILL');
    killed = true;
    await service.exited;
    await Promise.all(clients);

    // The next start takes the folder over from the dead process (its socket file is still there).
    const restarted = start();
    await restarted.listening();
    const stored = new Set(
      (
        await sql<{ ext_id: string }>(
          "SELECT a.ext_id FROM social_associations a JOIN audit_events e ON e.ext_id = a.ext_id AND e.action = 'social_association.created' WHERE a.ext_id LIKE 'burst-%'",
        )
      ).map((row) => row.ext_id),
    );
    expect(answered.filter((extId) => !stored.has(extId))).toEqual([]);
  }, 60_000);

  it('the CLI opens the folder itself when no server runs, and goes through the server when one does', async () => {
    const env = database.env;
    const user = jsonLine(await build.cli(['users:create', '--username', 'operator', '--no-password'], env));

    const service = start();
    const port = await service.listening();
    const me = await sendRaw(port, 'GET', '/api/v2/user/me/', {
      headers: { authorization: `Bearer ${tokenFor(Number(user.id))}` },
    });
    expect(JSON.parse(me.body!)).toMatchObject({ id: user.id, username: 'operator' });

    const args = ['associations:create', '--user-id', String(user.id), '--provider', 'github', '--ext-id', '9'];
    expect(jsonLine(await build.cli(args, env))).toMatchObject({ provider: 'github', ext_id: '9' });
    const list = await sendRaw(port, 'GET', `/api/v2/user/${String(user.id)}/provider/`, {
      headers: { authorization: `Bearer ${tokenFor(Number(user.id))}` },
    });
    expect(JSON.parse(list.body!)).toEqual([expect.objectContaining({ provider: 'github', ext_id: '9' })]);
  }, 60_000);

  it('a DATABASE_PATH that is a file: the start-up line says so, and the process exits 1', async () => {
    const file = join(database.env.DATABASE_PATH, '..', 'not-a-folder');
    writeFileSync(file, '');
    const service = build.start({ PORT: '0', DATABASE_PATH: file });
    started.push(service);
    expect(await service.exited).toBe(1);
    expect(service.logs.find((line) => line.msg === 'start-up failed')?.err).toMatchObject({
      message: `DATABASE_PATH ${file} is a file: it must name the folder of the embedded database`,
    });
  });
});
