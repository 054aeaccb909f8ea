import { ChildProcessWithoutNullStreams, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { TEST_JWT_SECRET } from './create-test-app';

const ROOT = resolve(process.cwd());

/** A service process started from a ServiceBuild, with its JSON log lines as they come. */
export interface ServiceProcess {
  child: ChildProcessWithoutNullStreams;
  /** Every JSON line of its stdout so far. */
  logs: Record<string, unknown>[];
  stderr(): string;
  /** Its exit code (null when killed by a signal). */
  exited: Promise<number | null>;
}

/**
 * The service compiled into a directory of its own (not dist/: other test files
 * may use dist/ meanwhile), for tests that run it as a separate process.
 */
export interface ServiceBuild {
  /** Starts `node src/main.js` in production mode with the test secret, on 127.0.0.1, plus `env`. */
  start(env: Record<string, string | undefined>): ServiceProcess;
  remove(): void;
}

export function buildServiceCopy(): ServiceBuild {
  const outDir = mkdtempSync(join(tmpdir(), 'social-associations-build-'));
  execFileSync(
    join(ROOT, 'node_modules/.bin/tsc'),
    ['-p', 'tsconfig.build.json', '--outDir', outDir, '--tsBuildInfoFile', join(outDir, '.tsbuildinfo'), '--noCheck'],
    { cwd: ROOT, stdio: 'pipe' },
  );
  return {
    start(env) {
      const child = spawn(process.execPath, [join(outDir, 'src/main.js')], {
        cwd: outDir,
        env: {
          PATH: process.env.PATH,
          NODE_PATH: join(ROOT, 'node_modules'),
          NODE_ENV: 'production',
          JWT_SECRET: TEST_JWT_SECRET,
          HOST: '127.0.0.1',
          LOG_LEVEL: 'info',
          ...env,
        },
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
      return { child, logs, stderr: () => stderr, exited };
    },
    remove: () => rmSync(outDir, { recursive: true, force: true }),
  };
}
