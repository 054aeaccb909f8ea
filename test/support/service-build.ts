import { ChildProcessByStdio, ChildProcessWithoutNullStreams, execFileSync, spawn } from 'node:child_process';
import { afterAll, afterEach, beforeAll, inject } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { TEST_JWT_SECRET } from './create-test-app';
import { createTestDatabase, TestDatabase } from './test-database';

const ROOT = resolve(process.cwd());

/** A service process started from a ServiceBuild, with its JSON log lines as they come. */
export interface ServiceProcess {
  child: ChildProcessWithoutNullStreams;
  /** Every JSON line of its stdout so far. */
  logs: Record<string, unknown>[];
  stderr(): string;
  /** Its exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** The port from its start-up line, once it listens; rejects when it exits first. */
  listening(): Promise<number>;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export const LISTENING_MESSAGE = 'social associations service listening';

/**
 * The service compiled into a directory of its own (not dist/: other test files
 * may use dist/ meanwhile), for tests that run it as a separate process.
 */
export interface ServiceBuild {
  /**
   * Starts `node src/main.js` in production mode with the test secret, on 127.0.0.1, plus `env`;
   * with `openFilesLimit`, under that limit on open file descriptors (`ulimit -n`).
   */
  start(env: Record<string, string | undefined>, options?: { openFilesLimit?: number }): ServiceProcess;
  /** Runs the operator CLI of the same build (`node src/cli/main.js`), with the same defaults plus `env`. */
  cli(args: string[], env: Record<string, string | undefined>): Promise<CliResult>;
  /** Starts the same CLI as `cli` does, without waiting for it (a test that signals it mid-run). */
  spawnCli(args: string[], env: Record<string, string | undefined>): ChildProcessByStdio<null, Readable, Readable>;
}

/**
 * One compiled copy per test worker process, made on first use: the files that
 * run the service as a process share it (test files share a worker, see
 * vitest.config.mts), and it is removed when the worker exits.
 */
let compiled: string | undefined;

function compiledService(): string {
  if (compiled) return compiled;
  // In the run's scratch folder (global-setup.ts removes it at the end): a worker stopped by a
  // signal never runs its 'exit' handler below.
  const outDir = mkdtempSync(join(inject('scratchRoot'), 'social-associations-build-'));
  execFileSync(
    join(ROOT, 'node_modules/.bin/tsc'),
    ['-p', 'tsconfig.build.json', '--outDir', outDir, '--tsBuildInfoFile', join(outDir, '.tsbuildinfo'), '--noCheck'],
    { cwd: ROOT, stdio: 'pipe' },
  );
  process.once('exit', () => rmSync(outDir, { recursive: true, force: true }));
  compiled = outDir;
  return outDir;
}

export function buildServiceCopy(): ServiceBuild {
  const outDir = compiledService();
  const baseEnv = {
    PATH: process.env.PATH,
    NODE_PATH: join(ROOT, 'node_modules'),
    NODE_ENV: 'production',
    JWT_SECRET: TEST_JWT_SECRET,
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
  };
  const spawnCli: ServiceBuild['spawnCli'] = (args, env) =>
    spawn(process.execPath, [join(outDir, 'src/cli/main.js'), ...args], {
      cwd: outDir,
      env: { ...baseEnv, LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  return {
    start(env, options = {}) {
      const main = join(outDir, 'src/main.js');
      const [command, args] =
        options.openFilesLimit === undefined
          ? [process.execPath, [main]]
          : ['/bin/sh', ['-c', `ulimit -n ${options.openFilesLimit} && exec "$0" "$1"`, process.execPath, main]];
      const child = spawn(command, args, {
        cwd: outDir,
        env: { ...baseEnv, ...env },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      const logs: Record<string, unknown>[] = [];
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      createInterface({ input: child.stdout }).on('line', (line) => {
        try {
          logs.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          // not a log line
        }
      });
      const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
      const listening = (): Promise<number> =>
        new Promise((done, fail) => {
          const poll = setInterval(() => {
            const line = logs.find((entry) => entry.msg === LISTENING_MESSAGE);
            if (!line) return;
            clearInterval(poll);
            done(Number(new URL(String(line.url)).port));
          }, 20);
          void exited.then((code) => {
            clearInterval(poll);
            fail(new Error(`server exited with ${code} before listening: ${JSON.stringify(logs)} ${stderr}`));
          });
        });
      return { child, logs, stderr: () => stderr, exited, listening };
    },
    spawnCli,
    cli(args, env) {
      return new Promise((done, fail) => {
        const child = spawnCli(args, env);
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
        child.on('error', fail);
        child.on('close', (code) => done({ code, stdout, stderr }));
      });
    },
  };
}

/** The service run as a process by an e2e file: its build, the file's database, and what it started. */
export interface ServiceProcessHandle {
  readonly build: ServiceBuild;
  readonly database: TestDatabase;
  /** Starts the service (ServiceBuild.start); it is SIGKILLed after the test. */
  start(env: Record<string, string | undefined>, options?: { openFilesLimit?: number }): ServiceProcess;
}

/**
 * The lifecycle of an e2e file that runs the built service as a process: a build
 * and a database of its own (beforeAll, dropped in afterAll), and every service a
 * test started killed after it (afterEach), as useTestApp is for the in-process app.
 */
export function useServiceProcess(): ServiceProcessHandle {
  let build: ServiceBuild | undefined;
  let database: TestDatabase | undefined;
  const started: ServiceProcess[] = [];
  const ready = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('useServiceProcess: read before beforeAll ran');
    return value;
  };
  beforeAll(async () => {
    build = buildServiceCopy();
    database = await createTestDatabase();
  }, 120_000);
  afterAll(() => database?.drop());
  afterEach(async () => {
    for (const service of started.splice(0)) {
      service.child.kill('SIGKILL');
      await service.exited;
    }
  });
  return {
    get build() {
      return ready(build);
    },
    get database() {
      return ready(database);
    },
    start(env, options) {
      const service = ready(build).start(env, options);
      started.push(service);
      return service;
    },
  };
}
