import swc from 'unplugin-swc';
import { configDefaults, defineConfig } from 'vitest/config';

// SWC compiles the TypeScript with decorator metadata, which Nest's dependency
// injection needs (esbuild, vitest's default, does not emit it).
const plugins = [swc.vite({ module: { type: 'es6' } })];

// `*.pg.*spec.ts` files test what only PostgreSQL has (query plans, a server to take
// down): they run when DATABASE_URL is set. `*.redis.*spec.ts` files need a Redis
// server: they run when REDIS_URL is set (CI sets both; see .ci/run).
// A file may need both (`*.pg.redis.e2e-spec.ts`): each pattern matches the tag anywhere in the name.
const needsMissingService = [
  ...(process.env.DATABASE_URL ? [] : ['**/*.pg.*spec.ts']),
  ...(process.env.REDIS_URL ? [] : ['**/*.redis.*spec.ts']),
];

export default defineConfig({
  test: {
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
          exclude: [...configDefaults.exclude, ...needsMissingService],
          environment: 'node',
          testTimeout: 30_000,
          hookTimeout: 60_000,
          pool: 'forks',
        },
      },
    ],
  },
});
