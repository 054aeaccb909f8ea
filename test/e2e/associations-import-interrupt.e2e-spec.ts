import { ChildProcessByStdio } from 'node:child_process';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { IMPORT_LANES } from '../../src/social-associations/import/association-import.service';
import { ImportSummary, ndjson, useImportCli } from '../support/import-cli';

/** The command's exit code when a Ctrl-C stopped it (the first one, or the second one at once). */
const EXIT_INTERRUPTED = 130;
const STOPPING = /stopping after the batch being written/;
const USERS = 8;
/** Enough lines that the import is still running when it is signalled, after its first batches are in. */
const LINES = 40_000;
const BATCH_SIZE = 500;
/** Each user's lines fit its cap: nothing is rejected, so every batch is exactly BATCH_SIZE lines of its lane. */
const CLI_ENV = { MAX_ASSOCIATIONS_PER_USER: String(LINES / USERS) };
/** The bound of every wait of these tests. */
const WAIT_MS = 60_000;

type InterruptedSummary = ImportSummary & { interrupted?: true };

interface RunningImport {
  child: ChildProcessByStdio<null, Readable, Readable>;
  stdout(): string;
  stderr(): string;
  /** Resolves once stderr matches (rejects when the process exits first, or after WAIT_MS). */
  stderrShows(pattern: RegExp): Promise<void>;
  /** Its exit: the code, and the signal when killed by one. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function bounded<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new Error(`still waiting after ${WAIT_MS} ms: ${what}`)), WAIT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// Each test runs an import of LINES lines and its re-run: more time than the default.
describe('associations:import: Ctrl-C', { timeout: 300_000 }, () => {
  const { t, f, file, cli, spawnCli, expectCountsInStep } = useImportCli();
  const started: RunningImport[] = [];
  afterEach(async () => {
    // A test that failed half-way leaves no import running into the next one.
    for (const run of started.splice(0)) {
      if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
      await bounded(run.exited, 'a killed import to exit');
    }
  });

  const importArgs = (path: string) => ['associations:import', '--file', path, '--batch-size', String(BATCH_SIZE)];

  const startImport = (path: string): RunningImport => {
    const child = spawnCli(importArgs(path), CLI_ENV);
    let stdout = '';
    let stderr = '';
    const watchers: { pattern: RegExp; done: () => void }[] = [];
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
      for (const watcher of watchers.filter((w) => w.pattern.test(stderr))) {
        watchers.splice(watchers.indexOf(watcher), 1);
        watcher.done();
      }
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done, fail) => {
      child.once('error', fail);
      child.once('close', (code, signal) => done({ code, signal }));
    });
    const run: RunningImport = {
      child,
      stdout: () => stdout,
      stderr: () => stderr,
      exited,
      stderrShows: (pattern) =>
        bounded(
          new Promise<void>((done, fail) => {
            if (pattern.test(stderr)) return done();
            watchers.push({ pattern, done });
            void exited.then(({ code }) => fail(new Error(`the import exited (${code}) first: ${stderr}`)), fail);
          }),
          `stderr to show ${pattern}`,
        ),
    };
    started.push(run);
    return run;
  };

  /** Polls until `check` holds, while the import runs. */
  const until = async (what: string, run: RunningImport, check: () => Promise<boolean>): Promise<void> => {
    const deadline = Date.now() + WAIT_MS;
    while (!(await check())) {
      if (run.child.exitCode !== null || run.child.signalCode !== null) {
        throw new Error(`the import exited (${run.child.exitCode}) before ${what}: ${run.stderr()}`);
      }
      if (Date.now() > deadline) throw new Error(`still waiting after ${WAIT_MS} ms: ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  };

  const makeUsers = async (): Promise<number[]> => {
    const ids: number[] = [];
    for (let i = 0; i < USERS; i++) ids.push((await f.makeUser()).id);
    return ids;
  };
  /** Line n (1-based) is ext_id l-<n> of the users round robin. */
  const userOfLine = (users: number[], line: number): number => users[(line - 1) % users.length];
  const content = (users: number[]): string =>
    ndjson(
      Array.from({ length: LINES }, (_, i) => ({
        user_id: userOfLine(users, i + 1),
        provider: 'google',
        ext_id: `l-${i + 1}`,
      })),
    );

  /**
   * After the CLI exited: on a server, its sessions may outlive it for a moment (a statement that was
   * running ends, then the server sees the client gone and rolls back). Waited for, so that what is read
   * next is final. The embedded engine ends a departed client's turn (rolling back) before the next one's.
   */
  const cliSessionsEnded = async (run: RunningImport): Promise<void> => {
    if (t.database.kind !== 'server') return;
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const [{ n }]: { n: number }[] = await t.dataSource.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle'`,
      );
      if (n === 0) return;
      if (Date.now() > deadline) throw new Error(`the CLI's sessions still run after ${WAIT_MS} ms: ${run.stderr()}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  };

  /** The line numbers stored, each checked to be its line's user's. */
  const storedLines = async (users: number[]): Promise<Set<number>> => {
    const rows: { user_id: number; ext_id: string }[] = await t.dataSource.query(
      'SELECT user_id, ext_id FROM social_associations',
    );
    const lines = new Set<number>();
    for (const row of rows) {
      const line = Number(row.ext_id.slice('l-'.length));
      expect(row.user_id, row.ext_id).toBe(userOfLine(users, line));
      lines.add(line);
    }
    return lines;
  };

  /**
   * The stored lines are whole batches: a user's lines go to one lane (user id modulo the lanes: one on the
   * embedded engine, IMPORT_LANES on a server), whose batches are its lines in file order, BATCH_SIZE at a
   * time. So in each lane what is stored is its first k * BATCH_SIZE lines, nothing of a later batch.
   */
  const expectWholeBatches = (held: Set<number>, users: number[]): void => {
    const lanes = t.database.kind === 'server' ? IMPORT_LANES : 1;
    for (let lane = 0; lane < lanes; lane++) {
      const laneLines = Array.from({ length: LINES }, (_, i) => i + 1).filter(
        (line) => userOfLine(users, line) % lanes === lane,
      );
      const count = laneLines.filter((line) => held.has(line)).length;
      const firstMissing = laneLines.findIndex((line) => !held.has(line));
      expect({ lane, count, firstMissing, partOfABatch: count % BATCH_SIZE }).toEqual({
        lane,
        count,
        firstMissing: count === laneLines.length ? -1 : count,
        partOfABatch: 0,
      });
    }
  };

  /** Every stored row has its audit event, and there is no other. */
  const expectEveryRowAudited = async (stored: number): Promise<void> => {
    const [row]: { events: number; unaudited: number }[] = await t.dataSource.query(`
      SELECT
        (SELECT count(*)::int FROM audit_events WHERE action = 'social_association.created') AS events,
        (SELECT count(*)::int FROM social_associations sa WHERE NOT EXISTS (
          SELECT 1 FROM audit_events ae
          WHERE ae.action = 'social_association.created'
            AND ae.target_user_id = sa.user_id AND ae.provider = sa.provider AND ae.ext_id = sa.ext_id
        )) AS unaudited`);
    expect(row).toEqual({ events: stored, unaudited: 0 });
  };

  /** A re-run of the file creates what the interrupted run did not and finds the rest unchanged. */
  const expectRerunFinishes = async (path: string, users: number[], storedBefore: number): Promise<void> => {
    const rerun = await cli(importArgs(path), CLI_ENV);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(JSON.parse(rerun.stdout), rerun.stderr).toEqual({
      read: LINES,
      created: LINES - storedBefore,
      unchanged: storedBefore,
      rejected: 0,
      errors: [],
    });
    expect((await storedLines(users)).size).toBe(LINES);
    await expectEveryRowAudited(LINES);
    await expectCountsInStep();
  };

  it('a Ctrl-C stops reading, lets the batches being written finish and prints the summary; a re-run finishes the job', async () => {
    const users = await makeUsers();
    const path = file(content(users));
    const run = startImport(path);
    await until('a batch is stored', run, async () => (await f.countAssociations()) >= BATCH_SIZE);
    run.child.kill('SIGINT');
    const exit = await bounded(run.exited, 'the interrupted import to exit');

    expect(exit, run.stderr()).toEqual({ code: EXIT_INTERRUPTED, signal: null });
    expect(run.stderr()).toMatch(STOPPING);
    const out = run.stdout().trimEnd().split('\n');
    expect(out, run.stderr()).toHaveLength(1);
    const summary = JSON.parse(out[0]) as InterruptedSummary;
    expect(summary).toEqual({
      read: summary.created,
      created: summary.created,
      unchanged: 0,
      rejected: 0,
      errors: [],
      interrupted: true,
    });
    expect(summary.read).toBeGreaterThanOrEqual(BATCH_SIZE);
    expect(summary.read).toBeLessThan(LINES);

    await cliSessionsEnded(run);
    const held = await storedLines(users);
    expect(held.size).toBe(summary.created);
    expectWholeBatches(held, users);
    await expectEveryRowAudited(held.size);
    await expectCountsInStep();

    await expectRerunFinishes(path, users, summary.created);
  });

  it('a second Ctrl-C quits at once, without the summary, the batches being written rolled back: each batch is in or out as a whole; a re-run finishes the job', async () => {
    const users = await makeUsers();
    const path = file(content(users));
    // On a server every batch takes 2 s here (within the statement timeout). The next batch is sent as
    // soon as one is in (its lines were read while that one was written): signalled 300 ms after the
    // first is in, the import has a batch being written when both Ctrl-Cs come. The embedded engine
    // runs its statements on this test process's own thread, where a sleeping batch would stop the
    // test itself from signalling: there, the batches run at full speed.
    const server = t.database.kind === 'server';
    if (server) {
      await t.dataSource.query(`
        CREATE FUNCTION slow_batches() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_sleep(2); RETURN NULL; END $$;
        CREATE TRIGGER slow_batches BEFORE INSERT ON social_associations FOR EACH STATEMENT EXECUTE FUNCTION slow_batches()`);
    }
    const run = startImport(path);
    let exit: Awaited<RunningImport['exited']>;
    try {
      await until('a batch is stored', run, async () => (await f.countAssociations()) >= BATCH_SIZE);
      if (server) await new Promise((resolve) => setTimeout(resolve, 300));
      run.child.kill('SIGINT');
      // The second one as soon as the first is taken, while the batches it lets finish are being written.
      await run.stderrShows(STOPPING);
      run.child.kill('SIGINT');
      exit = await bounded(run.exited, 'the import to quit');
    } finally {
      if (server) {
        // Once the CLI's transactions are gone (they lock the table the trigger is on).
        if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
        await bounded(run.exited, 'the import to exit');
        await cliSessionsEnded(run);
        await t.dataSource.query('DROP TRIGGER slow_batches ON social_associations; DROP FUNCTION slow_batches()');
      }
    }

    expect(exit, run.stderr()).toEqual({ code: EXIT_INTERRUPTED, signal: null });
    if (server) {
      // It did not wait for the batch being written: no summary.
      expect(run.stdout(), run.stderr()).toBe('');
    } else {
      // Either it quit during a batch (no summary) or the batches had just finished (the summary).
      expect(run.stdout(), run.stderr()).toMatch(/^$|^\{.*"interrupted":true\}\n$/);
    }

    await cliSessionsEnded(run);
    const held = await storedLines(users);
    expect(held.size).toBeGreaterThanOrEqual(BATCH_SIZE);
    expect(held.size).toBeLessThan(LINES);
    expectWholeBatches(held, users);
    await expectEveryRowAudited(held.size);
    await expectCountsInStep();

    await expectRerunFinishes(path, users, held.size);
  });
});
