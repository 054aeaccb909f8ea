// The processes of a benchmark run: the children it starts (the build, the migrations, the servers
// under test), each logging to its own file under the work folder and all stopped when the run ends,
// fails or is interrupted; their environments, built here in full; and the PostgreSQL backends that
// serve a database. Nothing is measured here (bench/measure.mjs).
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

/** The hand-written floor server, run by `node` from the bench's checkout. */
export const FLOOR_SCRIPT = fileURLToPath(new URL('./floor.mjs', import.meta.url));
/** Preloaded (`--import`) into a profiled server: SIGWINCH starts and stops the V8 profiler. */
const CPU_PROFILE_PRELOAD = fileURLToPath(new URL('./cpu-profile.mjs', import.meta.url));
/** The built service of a checkout. */
export const serviceScript = (serviceRoot) => join(serviceRoot, 'dist', 'src', 'main.js');

/** The last lines of a log file, for error messages. */
export function tail(file, lines = 30) {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

export class Processes {
  /**
   * `workDir`: where each child's log goes (`<name>.log`). `log`: how to report a child that exits
   * unexpectedly, that is unless it was asked to stop or is one of the `oneShot` names (it runs to completion).
   */
  constructor(workDir, { log, oneShot = [] }) {
    this.workDir = workDir;
    this.log = log;
    this.oneShot = new Set(oneShot);
    this.children = new Set();
    this.stopping = false;
    process.on('exit', () => {
      for (const child of this.children) child.kill('SIGKILL');
    });
  }

  /** Starts `node args...` with only PATH and HOME of this environment, plus `extraEnv`. */
  start(name, args, extraEnv, cwd) {
    mkdirSync(this.workDir, { recursive: true });
    const logFile = join(this.workDir, `${name}.log`);
    const fd = openSync(logFile, 'w');
    const child = spawn(process.execPath, args, {
      cwd,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...extraEnv },
      stdio: ['ignore', fd, fd],
    });
    closeSync(fd);
    child.logFile = logFile;
    child.exited = null;
    this.children.add(child);
    child.on('exit', (code, signal) => {
      this.children.delete(child);
      child.exited = { code, signal };
      if (!this.stopping && !child.stopRequested && !this.oneShot.has(name)) {
        this.log(`bench: ${name} exited unexpectedly (code ${code}, signal ${signal}); see ${logFile}`);
      }
    });
    return child;
  }

  /** Runs a node script to completion within `timeoutMs`; throws with its log tail on failure. */
  async run(name, args, extraEnv, timeoutMs, cwd) {
    const child = this.start(name, args, extraEnv, cwd);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const { code, signal } = await new Promise((done) => child.once('exit', (c, s) => done({ code: c, signal: s })));
    clearTimeout(timer);
    if (code !== 0) throw new Error(`${name} failed (code ${code}, signal ${signal}):\n${tail(child.logFile)}`);
  }

  /** SIGKILL, as an expected stop; resolves once it has exited. */
  async kill(child) {
    if (child.exited) return;
    child.stopRequested = true;
    const exited = new Promise((done) => child.once('exit', done));
    child.kill('SIGKILL');
    await exited;
  }

  /** SIGTERM, then SIGKILL after 5 s. */
  async stop(child) {
    if (child.exited) return;
    child.stopRequested = true;
    child.kill('SIGTERM');
    const exited = new Promise((done) => child.once('exit', done));
    if ((await Promise.race([exited.then(() => true), sleep(5000).then(() => false)])) === false) {
      child.kill('SIGKILL');
      await exited;
    }
  }

  async stopAll() {
    this.stopping = true;
    await Promise.all([...this.children].map((child) => this.stop(child)));
  }
}

/** Polls GET /health/ready until it answers 200; throws with the log tail when the child exits or time runs out. */
export async function waitReady({ name, port, child }, timeoutMs = 60_000) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exited) throw new Error(`${name} exited during start-up:\n${tail(child.logFile)}`);
    try {
      const response = await fetch(`http://127.0.0.1:${port}/health/ready`);
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  throw new Error(`${name} was not ready within ${timeoutMs / 1000} s:\n${tail(child.logFile)}`);
}

/** Fails when something already answers HTTP on 127.0.0.1:`port`. */
export async function assertPortFree(port) {
  try {
    await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1000) });
  } catch {
    return;
  }
  throw new Error(
    `something already answers on 127.0.0.1:${port}; set BENCH_SERVICE_PORT / BENCH_FLOOR_PORT (the scale phase uses BENCH_SERVICE_PORT+10, +11, ...)`,
  );
}

/** `nest build` in `serviceRoot`, with that checkout's own CLI. */
export function buildService(processes, serviceRoot) {
  return processes.run(
    'build',
    [join(serviceRoot, 'node_modules', '@nestjs', 'cli', 'bin', 'nest.js'), 'build'],
    {},
    300_000,
    serviceRoot,
  );
}

/** The service's migrations (TypeORM CLI against the built `dist/ormconfig.js`) on `databaseUrl`. */
export function runMigrations(processes, { serviceRoot, databaseUrl, secret }) {
  return processes.run(
    'migrations',
    [
      join(serviceRoot, 'node_modules', 'typeorm', 'cli.js'),
      'migration:run',
      '-d',
      join(serviceRoot, 'dist', 'ormconfig.js'),
    ],
    { NODE_ENV: 'production', DATABASE_URL: databaseUrl, JWT_SECRET: secret, LOG_LEVEL: 'warn' },
    120_000,
    serviceRoot,
  );
}

/**
 * The whole environment of a server under test (the service or the floor; Processes.start adds
 * only PATH and HOME). `database` is `{ url, poolSize }` (PostgreSQL, migrations already run) or
 * `{ path }` (the service's embedded engine). `extra` (BENCH_SERVICE_ENV) cannot move the port.
 */
export function serverEnv({ port, secret, logLevel, database, extra = {} }) {
  return {
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    ...(database.url !== undefined
      ? {
          DATABASE_URL: database.url,
          DATABASE_POOL_SIZE: String(database.poolSize),
          DATABASE_MIGRATIONS_RUN: 'false',
        }
      : { DATABASE_PATH: database.path }),
    JWT_SECRET: secret,
    LOG_LEVEL: logLevel,
    ...extra,
    PORT: String(port),
  };
}

/**
 * Starts `node script` as a server on `port` with the environment `env`; with `profileFile`, under
 * the SIGWINCH-driven profiler (profiles go to `profileFile` with -1, -2, ... before `.cpuprofile`).
 * Returns `{ name, port, child }`; wait for it with waitReady.
 */
export function startServer(processes, { name, script, cwd, port, env, profileFile }) {
  const args = profileFile ? ['--import', CPU_PROFILE_PRELOAD, script] : [script];
  const child = processes.start(
    name,
    args,
    { ...env, ...(profileFile ? { BENCH_CPU_PROFILE_FILE: profileFile } : {}) },
    cwd,
  );
  return { name, port, child };
}

/**
 * The pids of the PostgreSQL backends connected to `database` (`admin`: a pg client on the
 * server's maintenance database); with `nice`, each is given that priority on the way.
 */
export async function postgresBackends(admin, database, nice) {
  const { rows } = await admin.query('SELECT pid FROM pg_stat_activity WHERE datname = $1', [database]);
  if (nice !== undefined) {
    for (const { pid } of rows) {
      try {
        os.setPriority(pid, nice);
      } catch {
        // gone already
      }
    }
  }
  return rows.map((row) => row.pid);
}
