// Child processes of a benchmark run: each logs to its own file under the work folder, and all are
// stopped when the run ends, fails or is interrupted.
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

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
