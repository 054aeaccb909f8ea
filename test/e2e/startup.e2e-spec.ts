import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildServiceCopy, ServiceBuild, ServiceProcess } from '../support/service-build';
import { createTestDatabase, TestDatabase } from '../support/test-database';

/** What the built service says when it starts, and when it cannot. */
describe('start-up (node src/main.js)', () => {
  let build: ServiceBuild;
  let database: TestDatabase;
  let service: ServiceProcess | undefined;

  beforeAll(async () => {
    build = buildServiceCopy();
    database = await createTestDatabase();
  }, 120_000);
  afterAll(async () => {
    await database.drop();
  });
  afterEach(async () => {
    service?.child.kill('SIGKILL');
    await service?.exited;
    service = undefined;
  });

  it('logs one line when listening: its URL, the docs URL, the database engine and the token mode', async () => {
    service = build.start({ PORT: '0', ...database.env });
    const port = await service.listening();
    const line = service.logs.find((entry) => entry.msg === 'social associations service listening');
    expect(line).toMatchObject({
      url: `http://127.0.0.1:${port}`,
      docs: `http://127.0.0.1:${port}/api/docs`,
      database: database.kind === 'server' ? 'postgres' : `embedded postgres (${database.env.DATABASE_PATH})`,
      tokens: 'hs256 (secret: environment)',
    });
  });

  it('a database it cannot reach: exits 1, and the log line says why (message and stack)', async () => {
    service = build.start({
      PORT: '0',
      DATABASE_URL: 'postgres://postgres@127.0.0.1:9/none',
      DATABASE_TIMEOUT_MS: '500',
    });
    expect(await service.exited).toBe(1);
    const fatal = service.logs.find((entry) => entry.msg === 'start-up failed');
    expect(fatal).toMatchObject({
      level: 60,
      err: { message: expect.stringContaining('ECONNREFUSED'), stack: expect.stringContaining('Error') },
    });
  }, 30_000);
});
