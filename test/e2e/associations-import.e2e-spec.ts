import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, TEST_JWT_SECRET, TestApp } from '../support/create-test-app';
import { factories } from '../support/factories';
import { request } from '../support/http';
import { tokenFor } from '../support/tokens';

const ROOT = resolve(__dirname, '../..');
const CLI = join(ROOT, 'dist/src/cli/main.js');
const CAP = 3;
const PROVIDERS = 'google,github,keycloak,external';

/** Newest modification time of the sources the build compiles (spec files excluded). */
function newestSourceMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSourceMtime(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts'))
      newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/** Builds dist with `nest build` when it is missing or older than the sources. */
function ensureBuilt(): void {
  if (existsSync(CLI) && statSync(CLI).mtimeMs >= newestSourceMtime(join(ROOT, 'src'))) return;
  execFileSync('npx', ['nest', 'build'], { cwd: ROOT, stdio: 'pipe' });
}

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface Summary {
  read: number;
  created: number;
  unchanged: number;
  rejected: number;
  errors: { line: number; field: string | null; code: string; message: string }[];
  dry_run?: true;
}

interface StoredRow {
  user_id: number;
  provider: string;
  ext_id: string;
  profile_url: string | null;
  metadata: string | null;
  show_in_profile: boolean;
  created_at: Date;
}

const ndjson = (lines: unknown[]): string =>
  lines.map((line) => (typeof line === 'string' ? line : JSON.stringify(line))).join('\n') + '\n';

/** An error of the summary, its message left open. */
const error = (line: number, field: string | null, code: string) => ({
  line,
  field,
  code,
  message: expect.any(String),
});

// Each test runs the CLI several times, a process start-up each: more time than the default.
describe('associations:import (node dist/src/cli/main.js)', { timeout: 180_000 }, () => {
  let t: TestApp;
  let f: ReturnType<typeof factories>;
  let dir: string;
  let files = 0;
  beforeAll(async () => {
    ensureBuilt();
    t = await createTestApp({ PROVIDERS, MAX_ASSOCIATIONS_PER_USER: String(CAP) });
    f = factories(t);
    dir = mkdtempSync(join(tmpdir(), 'sa-import-'));
  }, 180_000);
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await t.close();
  });
  beforeEach(() => t.reset());

  function file(content: string, extension = 'ndjson'): string {
    const path = join(dir, `import-${++files}.${extension}`);
    writeFileSync(path, content);
    return path;
  }

  /** Runs the real CLI against the test app's database, as an operator would. */
  function cli(args: string[]): Promise<CliResult> {
    const base: Record<string, string | undefined> = { ...process.env };
    delete base.DATABASE_URL;
    delete base.DATABASE_PATH;
    delete base.LOG_LEVEL;
    return new Promise((done, fail) => {
      const child = spawn(process.execPath, [CLI, ...args], {
        cwd: ROOT,
        env: {
          ...base,
          NODE_ENV: 'production',
          JWT_SECRET: TEST_JWT_SECRET,
          PROVIDERS,
          MAX_ASSOCIATIONS_PER_USER: String(CAP),
          ...t.database.env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      child.on('error', fail);
      child.on('close', (code) => done({ code, stdout, stderr }));
    });
  }

  /** The import's summary: exactly one line on stdout, and the exit code expected for it. */
  async function importFile(path: string, ...options: string[]): Promise<Summary> {
    const result = await cli(['associations:import', '--file', path, ...options]);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines, result.stderr).toHaveLength(1);
    const summary = JSON.parse(lines[0]) as Summary;
    expect(result.code, result.stderr).toBe(summary.rejected > 0 ? 2 : 0);
    return summary;
  }

  const stored = (): Promise<StoredRow[]> =>
    t.dataSource.query(
      'SELECT user_id, provider, ext_id, profile_url, metadata, show_in_profile, created_at FROM social_associations ORDER BY id',
    );
  const identities = async (): Promise<string[]> =>
    (await stored()).map((row) => `${row.user_id}:${row.provider}:${row.ext_id}`);
  const counts = async (): Promise<Record<number, number>> => {
    const rows: { id: number; association_count: number }[] = await t.dataSource.query(
      'SELECT id, association_count FROM users ORDER BY id',
    );
    return Object.fromEntries(rows.map((row) => [row.id, row.association_count]));
  };
  /** Every user's association_count equals what they hold. */
  async function expectCountsInStep(): Promise<void> {
    const rows: { id: number; association_count: number; held: number }[] = await t.dataSource.query(
      'SELECT u.id, u.association_count, (SELECT count(*)::int FROM social_associations sa WHERE sa.user_id = u.id) AS held FROM users u',
    );
    for (const row of rows) expect(row.association_count, `user ${row.id}`).toBe(row.held);
  }

  describe('a good file', () => {
    it('NDJSON: creates every line, keeps created_at, writes one audit event each, and a re-run changes nothing', async () => {
      const [alice, bob] = [await f.makeUser(), await f.makeUser()];
      const path = file(
        ndjson([
          {
            user_id: alice.id,
            provider: 'google',
            ext_id: 'g-1',
            profile_url: 'https://example.org/a',
            show_in_profile: true,
          },
          // The export's shape: every field, created_at included.
          {
            user_id: alice.id,
            provider: 'external',
            ext_id: 'e-1',
            profile_url: null,
            show_in_profile: false,
            metadata: { tenant: 'acme', n: 1 },
            created_at: '2024-01-02T03:04:05.123456+00:00',
          },
          '',
          { user_id: String(bob.id), provider: 'github', ext_id: 42 },
        ]),
      );
      expect(await importFile(path)).toEqual({ read: 3, created: 3, unchanged: 0, rejected: 0, errors: [] });

      const rows = await stored();
      expect(rows.map(({ created_at: _, ...row }) => row)).toEqual([
        {
          user_id: alice.id,
          provider: 'google',
          ext_id: 'g-1',
          profile_url: 'https://example.org/a',
          metadata: null,
          show_in_profile: true,
        },
        {
          user_id: alice.id,
          provider: 'external',
          ext_id: 'e-1',
          profile_url: null,
          metadata: '{"tenant":"acme","n":1}',
          show_in_profile: false,
        },
        {
          user_id: bob.id,
          provider: 'github',
          ext_id: '42',
          profile_url: null,
          metadata: null,
          show_in_profile: false,
        },
      ]);
      const [createdAt] = await t.dataSource.query<{ text: string }[]>(
        `SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS text FROM social_associations WHERE ext_id = 'e-1'`,
      );
      expect(createdAt.text).toBe('2024-01-02T03:04:05.123456');
      expect(Math.abs(rows[0].created_at.getTime() - Date.now())).toBeLessThan(60_000);
      expect(await counts()).toEqual({ [alice.id]: 2, [bob.id]: 1 });
      const events = await f.auditEvents();
      expect(events).toEqual(
        rows.map((row) => ({
          id: expect.any(Number),
          occurred_at: expect.any(Date),
          actor_user_id: null,
          action: 'social_association.created',
          target_user_id: row.user_id,
          provider: row.provider,
          ext_id: row.ext_id,
          request_id: null,
        })),
      );

      expect(await importFile(path)).toEqual({ read: 3, created: 0, unchanged: 3, rejected: 0, errors: [] });
      expect(await stored()).toEqual(rows);
      expect(await f.auditEvents()).toHaveLength(3);
      expect(await counts()).toEqual({ [alice.id]: 2, [bob.id]: 1 });
    });

    it('CSV (RFC 4180, header row in any order): quoted fields, doubled quotes, empty optional fields; the format from the extension or --format', async () => {
      const [alice, bob] = [await f.makeUser(), await f.makeUser()];
      const csv = [
        'ext_id,provider,user_id,profile_url,show_in_profile,metadata,created_at',
        `g-1,google,${alice.id},"https://example.org/a?x=1,2",true,,`,
        `"e-""1""",external,${alice.id},,false,"{""tenant"":""acme, inc""}",2024-01-02T03:04:05Z`,
        `k-1,keycloak,${bob.id},,,,`,
      ].join('\r\n');
      expect(await importFile(file(csv, 'csv'))).toEqual({
        read: 3,
        created: 3,
        unchanged: 0,
        rejected: 0,
        errors: [],
      });
      expect((await stored()).map(({ created_at: _, ...row }) => row)).toEqual([
        {
          user_id: alice.id,
          provider: 'google',
          ext_id: 'g-1',
          profile_url: 'https://example.org/a?x=1,2',
          metadata: null,
          show_in_profile: true,
        },
        {
          user_id: alice.id,
          provider: 'external',
          ext_id: 'e-"1"',
          profile_url: null,
          metadata: '{"tenant":"acme, inc"}',
          show_in_profile: false,
        },
        {
          user_id: bob.id,
          provider: 'keycloak',
          ext_id: 'k-1',
          profile_url: null,
          metadata: null,
          show_in_profile: false,
        },
      ]);
      expect(await f.auditEvents()).toHaveLength(3);
      // The same file under another name, with --format: every line unchanged.
      expect(await importFile(file(csv, 'txt'), '--format', 'csv')).toMatchObject({ read: 3, unchanged: 3 });
    });

    it('the export of GET /api/v2/social-associations/export/ imports back unchanged, and into an empty database gives the same rows', async () => {
      const alice = await f.makeUser();
      const bob = await f.makeUser();
      await f.link(alice.id, {
        provider: 'google',
        ext_id: 'g-1',
        profile_url: 'https://example.org/x',
        show_in_profile: true,
      });
      await f.link(alice.id, { provider: 'external', ext_id: 'e-1', metadata: { b: 1, a: [1, { c: null }] } });
      await f.link(bob.id, { provider: 'github', ext_id: 'h-1' });
      const admin = await f.makeAdmin();
      const response = await request(t.baseUrl, 'GET', '/api/v2/social-associations/export/', {
        token: tokenFor(admin.id),
      });
      expect(response.status, response.text).toBe(200);
      const exportFile = file(response.text);
      const before = await t.dataSource.query(
        `SELECT user_id, provider, ext_id, profile_url, metadata, show_in_profile, created_at::text FROM social_associations ORDER BY user_id, provider`,
      );

      expect(await importFile(exportFile)).toEqual({ read: 3, created: 0, unchanged: 3, rejected: 0, errors: [] });

      // The users stay, their associations go: the import re-creates them from the export alone.
      await t.dataSource.query('DELETE FROM social_associations; UPDATE users SET association_count = 0');
      expect(await importFile(exportFile)).toEqual({ read: 3, created: 3, unchanged: 0, rejected: 0, errors: [] });
      const after = await t.dataSource.query(
        `SELECT user_id, provider, ext_id, profile_url, metadata, show_in_profile, created_at::text FROM social_associations ORDER BY user_id, provider`,
      );
      expect(after).toEqual(before);
      expect(await counts()).toMatchObject({ [alice.id]: 2, [bob.id]: 1 });
    });
  });

  describe('bad lines are reported by line number, and nothing of them is written', () => {
    it('each rule of the API: field rules, provider allow-list, cross-field rules, missing user, cap, identity linked elsewhere', async () => {
      const [alice, bob, full] = [await f.makeUser(), await f.makeUser(), await f.makeUser()];
      for (let i = 0; i < CAP; i++) await f.link(full.id, { ext_id: `held-${i}` });
      await f.link(bob.id, { provider: 'github', ext_id: 'taken' });
      await f.link(alice.id, { provider: 'github', ext_id: 'mine', show_in_profile: false });
      const before = await stored();
      const a = alice.id;
      const path = file(
        ndjson([
          { user_id: a, provider: 'google', ext_id: 'ok-1' }, // 1
          { user_id: a, provider: 'Google', ext_id: 'x' }, // 2 field rule
          { user_id: a, provider: 'google', ext_id: 'x'.repeat(256) }, // 3
          { user_id: a, provider: 'google', ext_id: 'x', extra: true }, // 4 unknown field
          { user_id: 'abc', provider: 'google', ext_id: 'x' }, // 5
          { provider: 'google', ext_id: 'x' }, // 6 user_id required
          { user_id: a, provider: 'gitlab', ext_id: 'x' }, // 7 not in PROVIDERS
          { user_id: a, provider: 'external', ext_id: 'x', profile_url: 'https://example.org' }, // 8 cross-field
          { user_id: a, provider: 'google', ext_id: 'x', metadata: { a: 1 } }, // 9 cross-field
          { user_id: a, provider: 'google', ext_id: 'x', profile_url: 'ftp://example.org' }, // 10
          { user_id: a, provider: 'google', ext_id: 'x', created_at: 'yesterday' }, // 11
          { user_id: 987_654, provider: 'google', ext_id: 'x' }, // 12 no such user
          { user_id: full.id, provider: 'google', ext_id: 'x' }, // 13 cap
          { user_id: a, provider: 'github', ext_id: 'taken' }, // 14 another user's
          { user_id: a, provider: 'github', ext_id: 'mine', show_in_profile: true }, // 15 same user, other fields
          '{"user_id": 1, "provider": ', // 16 not JSON
          '[1, 2]', // 17 not an object
          { user_id: a, provider: 'google', ext_id: 'ok-2' }, // 18
        ]),
      );
      const expected: Summary = {
        read: 18,
        created: 2,
        unchanged: 0,
        rejected: 16,
        errors: [
          error(2, 'provider', 'invalid'),
          error(3, 'ext_id', 'invalid'),
          error(4, 'extra', 'unknown_field'),
          error(5, 'user_id', 'invalid'),
          error(6, 'user_id', 'required'),
          error(7, 'provider', 'provider_not_allowed'),
          error(8, 'profile_url', 'invalid_field'),
          error(9, 'metadata', 'invalid_field'),
          error(10, 'profile_url', 'invalid'),
          error(11, 'created_at', 'invalid'),
          error(12, 'user_id', 'not_found'),
          error(13, 'user_id', 'too_many_associations'),
          error(14, 'ext_id', 'already_linked'),
          error(15, 'show_in_profile', 'linked_with_other_fields'),
          error(16, null, 'malformed_json'),
          error(17, null, 'malformed_json'),
        ],
      };
      // --dry-run says the same and writes nothing ...
      expect(await importFile(path, '--dry-run')).toEqual({ ...expected, dry_run: true });
      expect(await stored()).toEqual(before);
      expect(await f.auditEvents()).toHaveLength(before.length);
      // ... the import writes the two good lines only.
      const summary = await importFile(path);
      expect(summary).toEqual(expected);
      expect(summary.errors[12].message).toMatch(new RegExp(`already linked to user ${bob.id}`));
      expect(await identities()).toEqual([
        ...before.map((row) => `${row.user_id}:${row.provider}:${row.ext_id}`),
        `${a}:google:ok-1`,
        `${a}:google:ok-2`,
      ]);
      expect(await f.auditEvents()).toHaveLength(before.length + 2);
      await expectCountsInStep();
    });

    it('the cap counts a user’s new lines in file order, after what they hold; repeats of an identity in one file', async () => {
      const [alice, bob] = [await f.makeUser(), await f.makeUser()];
      await f.link(alice.id, { provider: 'google', ext_id: 'held' });
      const path = file(
        ndjson([
          { user_id: alice.id, provider: 'google', ext_id: 'a-1' }, // 1 created (2 held)
          { user_id: alice.id, provider: 'google', ext_id: 'held' }, // 2 unchanged: holds no new slot
          { user_id: alice.id, provider: 'google', ext_id: 'a-1' }, // 3 repeat, identical: unchanged
          { user_id: bob.id, provider: 'google', ext_id: 'a-1' }, // 4 repeat for another user
          { user_id: alice.id, provider: 'google', ext_id: 'a-1', show_in_profile: true }, // 5 repeat, other fields
          { user_id: alice.id, provider: 'google', ext_id: 'a-2' }, // 6 created (3 held)
          { user_id: alice.id, provider: 'google', ext_id: 'a-3' }, // 7 cap
          { user_id: alice.id, provider: 'google', ext_id: 'a-3' }, // 8 repeat of a line over the cap
          { user_id: bob.id, provider: 'google', ext_id: 'a-3' }, // 9 repeat of it for a user with room
        ]),
      );
      const expected: Summary = {
        read: 9,
        created: 3,
        unchanged: 2,
        rejected: 4,
        errors: [
          error(4, 'ext_id', 'already_linked'),
          error(5, 'show_in_profile', 'linked_with_other_fields'),
          error(7, 'user_id', 'too_many_associations'),
          error(8, 'user_id', 'too_many_associations'),
        ],
      };
      // One batch, a batch a line, and batches that cut between repeats: the same outcome.
      expect(await importFile(path, '--dry-run')).toEqual({ ...expected, dry_run: true });
      expect(await importFile(path, '--dry-run', '--batch-size', '1')).toEqual({ ...expected, dry_run: true });
      expect(await importFile(path, '--batch-size', '4')).toEqual(expected);
      expect(await identities()).toEqual([
        `${alice.id}:google:held`,
        `${alice.id}:google:a-1`,
        `${alice.id}:google:a-2`,
        `${bob.id}:google:a-3`,
      ]);
      await expectCountsInStep();
      expect(await importFile(path)).toEqual({
        ...expected,
        created: 0,
        unchanged: 5,
        errors: [
          ...expected.errors.slice(0, 2),
          ...expected.errors.slice(2).map((e) => ({ ...e, code: 'already_linked', field: 'ext_id' })),
        ],
      });
    });

    it('malformed CSV lines (a stray quote, a field count off, a quoted field never closed) and a line break inside quotes', async () => {
      const user = await f.makeUser();
      const u = user.id;
      const csv = [
        'user_id,provider,ext_id', // 1
        `${u},google,ok-1`, // 2
        `${u},goo"gle,x`, // 3
        `${u},google`, // 4
        `${u},google,"two`, // 5: a quoted field over two lines (ext_id may not hold a line break)
        `lines"`, // 6
        `${u},google,ok-2`, // 7
        `${u},google,"never closed`, // 8
        `${u},google,ok-3`, // 9 (inside the quote that never closes)
      ].join('\n');
      expect(await importFile(file(csv, 'csv'))).toEqual({
        read: 6,
        created: 2,
        unchanged: 0,
        rejected: 4,
        errors: [
          error(3, null, 'malformed_csv'),
          error(4, null, 'malformed_csv'),
          error(5, 'ext_id', 'invalid'),
          error(8, null, 'malformed_csv'),
        ],
      });
      expect(await identities()).toEqual([`${u}:google:ok-1`, `${u}:google:ok-2`]);
    });

    it('a CSV header naming an unknown column, or missing a required one: exit 1, nothing read', async () => {
      const user = await f.makeUser();
      for (const header of ['user_id,provider,ext_id,nickname', 'user_id,provider']) {
        const result = await cli(['associations:import', '--file', file(`${header}\n${user.id},google,x,y\n`, 'csv')]);
        expect(result.code).toBe(1);
        expect(result.stdout).toBe('');
        expect(result.stderr).toMatch(/CSV header/);
      }
      expect(await f.countAssociations()).toBe(0);
    });

    it('lists the first 100 errors (lowest line numbers) and counts them all', async () => {
      const user = await f.makeUser();
      const lines = Array.from({ length: 250 }, (_, i) => ({ user_id: user.id, provider: 'Bad', ext_id: `x-${i}` }));
      const summary = await importFile(file(ndjson(lines)), '--batch-size', '7');
      expect(summary).toMatchObject({ read: 250, created: 0, rejected: 250 });
      expect(summary.errors.map((e) => e.line)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    });
  });

  describe('batches', () => {
    const makeUsers = async (n: number): Promise<number[]> => {
      const ids: number[] = [];
      for (let i = 0; i < n; i++) ids.push((await f.makeUser()).id);
      return ids;
    };
    /** Lines 1..n for users round robin (at most CAP each, with enough users); ext_id l-<line>. */
    const lines = (n: number, userIds: number[]) =>
      Array.from({ length: n }, (_, i) => ({
        user_id: userIds[i % userIds.length],
        provider: 'google',
        ext_id: `l-${i + 1}`,
      }));

    it('more lines than one batch, bad lines in the middle batch: every other line of every batch is written', async () => {
      const ids = await makeUsers(10);
      const content: unknown[] = lines(25, ids);
      content[13] = { user_id: 987_654, provider: 'google', ext_id: 'l-14' }; // line 14: no such user
      content[14] = 'not json'; // line 15
      const summary = await importFile(file(ndjson(content)), '--batch-size', '10');
      expect(summary).toEqual({
        read: 25,
        created: 23,
        unchanged: 0,
        rejected: 2,
        errors: [error(14, 'user_id', 'not_found'), error(15, null, 'malformed_json')],
      });
      expect((await stored()).map((row) => row.ext_id)).toEqual(
        Array.from({ length: 25 }, (_, i) => `l-${i + 1}`).filter((id) => id !== 'l-14' && id !== 'l-15'),
      );
      expect(await f.auditEvents()).toHaveLength(23);
      await expectCountsInStep();
    });

    it('a batch that fails in the database is all out, the ones before all in; a re-run finishes the job', async () => {
      const ids = await makeUsers(10);
      const path = file(ndjson(lines(30, ids)));
      // A failure the rules cannot foresee (the database refuses line 15), inside the second batch.
      await t.dataSource.query(`
        CREATE FUNCTION refuse_l15() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF NEW.ext_id = 'l-15' THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$;
        CREATE TRIGGER refuse_l15 BEFORE INSERT ON social_associations FOR EACH ROW EXECUTE FUNCTION refuse_l15()`);
      try {
        const result = await cli(['associations:import', '--file', path, '--batch-size', '10']);
        expect(result.code).toBe(1);
        expect(result.stderr).toMatch(/refused by the test/);
      } finally {
        await t.dataSource.query('DROP TRIGGER refuse_l15 ON social_associations; DROP FUNCTION refuse_l15()');
      }
      expect((await stored()).map((row) => row.ext_id)).toEqual(Array.from({ length: 10 }, (_, i) => `l-${i + 1}`));
      expect(await f.auditEvents()).toHaveLength(10);
      await expectCountsInStep();

      expect(await importFile(path, '--batch-size', '10')).toEqual({
        read: 30,
        created: 20,
        unchanged: 10,
        rejected: 0,
        errors: [],
      });
      expect(await f.countAssociations()).toBe(30);
      expect(await f.auditEvents()).toHaveLength(30);
      await expectCountsInStep();
    });

    it('--dry-run over several batches sees what the earlier ones would create (repeats, the cap) and writes nothing', async () => {
      const user = await f.makeUser();
      const content = [
        ...lines(2, [user.id]),
        { user_id: user.id, provider: 'google', ext_id: 'l-1' }, // repeat of line 1, in the next batch
        ...lines(5, [user.id]).slice(2), // l-3 fits the cap, l-4 and l-5 do not
      ];
      const path = file(ndjson(content));
      const expected = {
        read: 6,
        created: 3,
        unchanged: 1,
        rejected: 2,
        errors: [error(5, 'user_id', 'too_many_associations'), error(6, 'user_id', 'too_many_associations')],
      };
      expect(await importFile(path, '--dry-run', '--batch-size', '2')).toEqual({ ...expected, dry_run: true });
      expect(await f.countAssociations()).toBe(0);
      expect(await f.auditEvents()).toEqual([]);
      expect(await counts()).toEqual({ [user.id]: 0 });
      expect(await importFile(path, '--batch-size', '2')).toEqual(expected);
    });
  });

  it('fails with exit 1 and a message for a missing file, a bad --format or --batch-size', async () => {
    const [missing, format, batch] = await Promise.all([
      cli(['associations:import', '--file', join(dir, 'nope.ndjson')]),
      cli(['associations:import', '--file', file('{}\n'), '--format', 'xml']),
      cli(['associations:import', '--file', file('{}\n'), '--batch-size', '0']),
    ]);
    for (const [result, message] of [
      [missing, /cannot read/],
      [format, /--format/],
      [batch, /--batch-size/],
    ] as const) {
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(message);
    }
  });
});
