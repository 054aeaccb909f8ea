import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useServiceProcess } from '../support/service-build';

/** What the built service says when it starts, and when it cannot. */
describe('start-up (node src/main.js)', () => {
  const processes = useServiceProcess();

  it('logs one line when listening: its URL, the docs URL, the database engine and the token mode', async () => {
    const service = processes.start({ PORT: '0', ...processes.database.env });
    const port = await service.listening();
    const line = service.logs.find((entry) => entry.msg === 'social associations service listening');
    expect(line).toMatchObject({
      url: `http://127.0.0.1:${port}`,
      docs: `http://127.0.0.1:${port}/api/docs`,
      database:
        processes.database.kind === 'server'
          ? 'postgres'
          : `embedded postgres (${processes.database.env.DATABASE_PATH})`,
      tokens: 'hs256 (secret: environment)',
    });
  });

  it('a database it cannot reach: exits 1, and the log line says why (message and stack)', async () => {
    const service = processes.start({
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

  it('a module that fails to load: exits 1, and the log line gives its message and its cause', async () => {
    // A package of the service's that throws when loaded, found before the real one, as a
    // native addon built for another Node would (an error that used to reach the log as a bare code).
    const overlay = mkdtempSync(join(tmpdir(), 'sa-broken-module-'));
    const pkg = join(overlay, 'node_modules', 'helmet');
    mkdirSync(pkg, { recursive: true });
    writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'helmet', main: 'index.js' }));
    writeFileSync(
      join(pkg, 'index.js'),
      "throw new Error('could not load helmet', { cause: new Error('compiled for another Node.js version') });",
    );
    try {
      const nodePath = `${join(overlay, 'node_modules')}:${resolve('node_modules')}`;
      const service = processes.start({ PORT: '0', ...processes.database.env, NODE_PATH: nodePath });
      expect(await service.exited).toBe(1);
      expect(service.logs.find((entry) => entry.msg === 'start-up failed')).toMatchObject({
        level: 60,
        err: {
          message: 'could not load helmet: compiled for another Node.js version',
          stack: expect.stringContaining('caused by: Error: compiled for another Node.js version'),
        },
      });
    } finally {
      rmSync(overlay, { recursive: true, force: true });
    }
  });
});
