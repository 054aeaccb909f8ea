import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { loadAppConfig } from '../../src/config/app-config';
import { runPendingMigrations } from '../../src/database/run-migrations';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A migrated embedded database folder, copied for each test file (see test-database.ts). */
    embeddedTemplate: string;
    /** A folder for the run's scratch files (the service builds of service-build.ts), removed when the run ends. */
    scratchRoot: string;
  }
}

/**
 * Without DATABASE_URL every test file gets an embedded database of its own. A new
 * one takes seconds to initialise; a copy of one made here, once, opens in well
 * under one.
 */
export default async function setup(project: TestProject): Promise<() => void> {
  const dir = mkdtempSync(join(tmpdir(), 'sa-template-'));
  const folder = join(dir, 'db');
  if (!process.env.DATABASE_URL) {
    await runPendingMigrations(
      loadAppConfig({ NODE_ENV: 'test', JWT_SECRET: 'x'.repeat(32), DATABASE_PATH: folder, LOG_LEVEL: 'silent' }),
    );
  }
  project.provide('embeddedTemplate', folder);
  // Workers are stopped with a signal, so they cannot remove what they made: this teardown does.
  project.provide('scratchRoot', dir);
  return () => rmSync(dir, { recursive: true, force: true });
}
