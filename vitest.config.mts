import { availableParallelism } from 'node:os';
import swc from 'unplugin-swc';
import { configDefaults, defineConfig } from 'vitest/config';

// SWC compiles the TypeScript with decorator metadata, which Nest's dependency
// injection needs (esbuild, vitest's default, does not emit it).
const plugins = [swc.vite({ module: { type: 'es6' } })];

// `*.pg.*spec.ts` files test what only a PostgreSQL server has (query plans, a server to
// take down, row locks across connections): they run when DATABASE_URL is set.
// `*.embedded.*spec.ts` files test the embedded engine's own folder and processes: they run
// when it is not. `*.redis.*spec.ts` files need a Redis server: they run when REDIS_URL is set.
// CI runs the suite with and without DATABASE_URL, with REDIS_URL (see .ci/run).
// A file may need two (`*.pg.redis.e2e-spec.ts`): each pattern matches the tag anywhere in the name.
const needsMissingService = [
  ...(process.env.DATABASE_URL ? ['**/*.embedded.*spec.ts'] : ['**/*.pg.*spec.ts']),
  ...(process.env.REDIS_URL ? [] : ['**/*.redis.*spec.ts']),
];

export default defineConfig({
  test: {
    // Two test files at a time even on 2 cores (Vitest's default would be one): much of an
    // e2e file's time is spent waiting on sockets, child processes and timers.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    projects: [
      {
        plugins,
        test: {
          name: 'unit',
          include: ['src/**/*.spec.ts'],
          exclude: [...configDefaults.exclude, ...needsMissingService],
          environment: 'node',
        },
      },
      {
        plugins,
        test: {
          name: 'e2e',
          include: ['test/**/*.e2e-spec.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          exclude: [...configDefaults.exclude, ...needsMissingService],
          environment: 'node',
          testTimeout: 30_000,
          hookTimeout: 60_000,
          pool: 'forks',
          // Test files share a worker process: each still boots its own app on its own
          // database, but PGlite's WebAssembly is compiled once per worker, not per file.
          isolate: false,
          // V8 compiles that WebAssembly with its optimizing compiler up front (~3 s, once):
          // its queries then run ~1.8x faster than through the baseline tier.
          execArgv: ['--no-liftoff'],
        },
      },
    ],
  },
});
