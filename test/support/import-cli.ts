import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { buildServiceCopy, CliResult, ServiceBuild } from './service-build';
import { TestAppHandle, useTestApp } from './use-test-app';

/** The per-user cap and provider allow-list the import tests run with (small, so their rules show). */
export const IMPORT_CAP = 3;
export const IMPORT_PROVIDERS = 'google,github,keycloak,external';

export interface ImportSummary {
  read: number;
  created: number;
  unchanged: number;
  rejected: number;
  errors: { line: number; field: string | null; code: string; message: string }[];
  dry_run?: true;
}

export interface StoredRow {
  user_id: number;
  provider: string;
  ext_id: string;
  profile_url: string | null;
  metadata: string | null;
  show_in_profile: boolean;
  created_at: Date;
}

export const ndjson = (lines: unknown[]): string =>
  lines.map((line) => (typeof line === 'string' ? line : JSON.stringify(line))).join('\n') + '\n';

/** An error of the summary, its message left open. */
export const importError = (line: number, field: string | null, code: string) => ({
  line,
  field,
  code,
  message: expect.any(String),
});

/**
 * The test app of an import test file, the real CLI run against its database (a
 * compiled copy of the service, as an operator runs it), files to import, and
 * what the database holds afterwards.
 */
export function useImportCli() {
  const t: TestAppHandle = useTestApp({ PROVIDERS: IMPORT_PROVIDERS, MAX_ASSOCIATIONS_PER_USER: String(IMPORT_CAP) });
  let build: ServiceBuild;
  let dir: string;
  let files = 0;
  beforeAll(() => {
    build = buildServiceCopy();
    dir = mkdtempSync(join(tmpdir(), 'sa-import-'));
  }, 180_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const cliEnv = (env: Record<string, string>): Record<string, string> => ({
    PROVIDERS: IMPORT_PROVIDERS,
    MAX_ASSOCIATIONS_PER_USER: String(IMPORT_CAP),
    ...t.database.env,
    ...env,
  });

  const harness = {
    t,
    f: t.f,
    /** A path that does not exist, in the files' folder. */
    missingFile: () => join(dir, 'nope.ndjson'),
    file: (content: string, extension = 'ndjson'): string => {
      const path = join(dir, `import-${++files}.${extension}`);
      writeFileSync(path, content);
      return path;
    },
    /** Runs the real CLI against the test app's database, as an operator would. */
    cli: (args: string[], env: Record<string, string> = {}): Promise<CliResult> => build.cli(args, cliEnv(env)),
    /** Starts the same CLI without waiting for it (to signal it mid-run). */
    spawnCli: (args: string[], env: Record<string, string> = {}) => build.spawnCli(args, cliEnv(env)),
    /** The import's summary: exactly one line on stdout, and the exit code expected for it. */
    importFile: async (path: string, ...options: string[]): Promise<ImportSummary> => {
      const result = await harness.cli(['associations:import', '--file', path, ...options]);
      const lines = result.stdout.trimEnd().split('\n');
      expect(lines, result.stderr).toHaveLength(1);
      const summary = JSON.parse(lines[0]) as ImportSummary;
      expect(result.code, result.stderr).toBe(summary.rejected > 0 ? 2 : 0);
      return summary;
    },
    /** What is stored, by user, each user's in the order written (a user's lines are written in file order). */
    stored: (): Promise<StoredRow[]> =>
      t.dataSource.query(
        'SELECT user_id, provider, ext_id, profile_url, metadata, show_in_profile, created_at FROM social_associations ORDER BY user_id, id',
      ),
    identities: async (): Promise<string[]> => {
      return (await harness.stored()).map((row) => `${row.user_id}:${row.provider}:${row.ext_id}`);
    },
    counts: async (): Promise<Record<number, number>> => {
      const rows: { id: number; association_count: number }[] = await t.dataSource.query(
        'SELECT id, association_count FROM users ORDER BY id',
      );
      return Object.fromEntries(rows.map((row) => [row.id, row.association_count]));
    },
    /** Every user's association_count equals what they hold. */
    expectCountsInStep: async (): Promise<void> => {
      const rows: { id: number; association_count: number; held: number }[] = await t.dataSource.query(
        'SELECT u.id, u.association_count, (SELECT count(*)::int FROM social_associations sa WHERE sa.user_id = u.id) AS held FROM users u',
      );
      for (const row of rows) expect(row.association_count, `user ${row.id}`).toBe(row.held);
    },
  };
  return harness;
}
