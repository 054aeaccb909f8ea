import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(process.cwd());

/**
 * The service compiled into a directory of its own (not dist/: other test files
 * may use dist/ meanwhile), for tests that run it as a separate process.
 * `main` is the entry point to start with node (in `dir`); `nodePath` lets it find node_modules.
 */
export interface ServiceBuild {
  dir: string;
  main: string;
  nodePath: string;
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
    dir: outDir,
    main: join(outDir, 'src/main.js'),
    nodePath: join(ROOT, 'node_modules'),
    remove: () => rmSync(outDir, { recursive: true, force: true }),
  };
}
