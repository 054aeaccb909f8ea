import { afterAll, beforeAll, beforeEach } from 'vitest';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import { AppConfig } from '../../src/config/app-config';
import { createTestApp, TestApp, TestAppOptions } from './create-test-app';
import { Factories, factories } from './factories';
import { TestDatabase } from './test-database';

export interface UseTestAppOptions extends TestAppOptions {
  /** Empty every table before each test (the default). Off for files that arrange once in beforeAll. */
  reset?: boolean;
}

/** The test app of an e2e file: its fields are readable inside hooks and tests, not while the file is collected. */
export interface TestAppHandle extends TestApp {
  /** Factories over this app's services; usable as soon as the app is up. */
  readonly f: Factories;
}

/**
 * The lifecycle of an e2e file's app in one line: `const t = useTestApp()` boots the real
 * application once (beforeAll), closes it and drops its database (afterAll), and empties
 * every table before each test (beforeEach). `env` adds configuration variables; a
 * function is called in beforeAll, after the hooks registered before it (e.g. a key server
 * that must be listening first). Register hooks that must run after the reset below this call.
 */
export function useTestApp(
  env: Record<string, string> | (() => Record<string, string>) = {},
  options: UseTestAppOptions = {},
): TestAppHandle {
  const { reset = true, ...testAppOptions } = options;
  let app: TestApp | undefined;
  const current = (): TestApp => {
    if (!app) throw new Error('useTestApp: the app is read before beforeAll ran (read it inside a hook or a test)');
    return app;
  };
  const handle: TestAppHandle = {
    get app(): NestFastifyApplication {
      return current().app;
    },
    get baseUrl(): string {
      return current().baseUrl;
    },
    get config(): AppConfig {
      return current().config;
    },
    get dataSource(): DataSource {
      return current().dataSource;
    },
    get database(): TestDatabase {
      return current().database;
    },
    reset: () => current().reset(),
    close: () => current().close(),
    f: factories({
      get app() {
        return current().app;
      },
      get dataSource() {
        return current().dataSource;
      },
    }),
  };

  beforeAll(async () => {
    app = await createTestApp(typeof env === 'function' ? env() : env, testAppOptions);
  });
  afterAll(async () => {
    await app?.close();
    app = undefined;
  });
  if (reset) beforeEach(() => current().reset());
  return handle;
}
