import { describe, expect, it } from 'vitest';
import { importError, ndjson, useImportCli } from '../support/import-cli';

// Each test runs the CLI several times, a process start-up each: more time than the default.
describe('associations:import: batches, crashes and --dry-run', { timeout: 180_000 }, () => {
  const { t, f, file, cli, importFile, stored, counts, expectCountsInStep } = useImportCli();

  describe('batches', () => {
    const makeUsers = async (n: number): Promise<number[]> => {
      const ids: number[] = [];
      for (let i = 0; i < n; i++) ids.push((await f.makeUser()).id);
      return ids;
    };
    /** The line numbers of stored `l-<line>` identities, in order. */
    const lineNumbers = (rows: { ext_id: string }[]): number[] =>
      rows.map((row) => Number(row.ext_id.slice('l-'.length))).sort((a, b) => a - b);
    /** Lines 1..n for users round robin (at most IMPORT_CAP each, with enough users); ext_id l-<line>. */
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
        errors: [importError(14, 'user_id', 'not_found'), importError(15, null, 'malformed_json')],
      });
      expect(lineNumbers(await stored())).toEqual(
        Array.from({ length: 25 }, (_, i) => i + 1).filter((line) => line !== 14 && line !== 15),
      );
      expect(await f.auditEvents()).toHaveLength(23);
      await expectCountsInStep();
    });

    it('analyzes social_associations as it grows it: the planner sees the rows the import wrote', async () => {
      const analyzeCount = async (): Promise<number> => {
        const [row]: { n: number }[] = await t.dataSource.query(
          `SELECT analyze_count::int AS n FROM pg_stat_user_tables WHERE relname = 'social_associations'`,
        );
        return row.n;
      };
      const ids = await makeUsers(3);
      const before = await analyzeCount();
      expect(await importFile(file(ndjson(lines(9, ids))), '--batch-size', '3')).toMatchObject({ created: 9 });
      // After the first batch (then whenever the table grew by half, 5,000 rows at least).
      await expect.poll(analyzeCount, { timeout: 10_000 }).toBe(before + 1);
    });

    it('two users written side by side: a repeated identity goes to the earlier line, whichever batch fills first', async () => {
      // The first user's single line waits in a batch that never fills; the second user's lines
      // fill batch after batch. Its repeat of the first line's identity (line 8) must still lose.
      const [first, second] = await makeUsers(2);
      const content = [
        { user_id: first, provider: 'google', ext_id: 'shared' },
        ...Array.from({ length: 6 }, (_, i) => ({ user_id: second, provider: 'github', ext_id: `s-${i + 2}` })),
        { user_id: second, provider: 'google', ext_id: 'shared' },
      ];
      const summary = await importFile(file(ndjson(content)), '--batch-size', '2');
      expect(summary).toEqual({
        read: 8,
        created: 4,
        unchanged: 0,
        rejected: 4,
        errors: [
          importError(5, 'user_id', 'too_many_associations'),
          importError(6, 'user_id', 'too_many_associations'),
          importError(7, 'user_id', 'too_many_associations'),
          importError(8, 'ext_id', 'already_linked'),
        ],
      });
      expect(await t.dataSource.query(`SELECT user_id FROM social_associations WHERE ext_id = 'shared'`)).toEqual([
        { user_id: first },
      ]);
      await expectCountsInStep();
    });

    it('a batch that fails in the database is all out, the ones before all in; a re-run finishes the job', async () => {
      // One user's lines: one stream of batches (lines 1-10 in, 11-20 refused, 21-25 never sent).
      const user = await f.makeUser();
      const oneUserCap = { MAX_ASSOCIATIONS_PER_USER: '25' };
      const path = file(ndjson(lines(25, [user.id])));
      // A failure the rules cannot foresee (the database refuses line 15), inside the second batch.
      await t.dataSource.query(`
        CREATE FUNCTION refuse_l15() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF NEW.ext_id = 'l-15' THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$;
        CREATE TRIGGER refuse_l15 BEFORE INSERT ON social_associations FOR EACH ROW EXECUTE FUNCTION refuse_l15()`);
      try {
        const result = await cli(['associations:import', '--file', path, '--batch-size', '10'], oneUserCap);
        expect(result.code).toBe(1);
        expect(result.stderr).toMatch(/refused by the test/);
      } finally {
        await t.dataSource.query('DROP TRIGGER refuse_l15 ON social_associations; DROP FUNCTION refuse_l15()');
      }
      expect((await stored()).map((row) => row.ext_id)).toEqual(Array.from({ length: 10 }, (_, i) => `l-${i + 1}`));
      expect(await f.auditEvents()).toHaveLength(10);
      await expectCountsInStep();

      const rerun = await cli(['associations:import', '--file', path, '--batch-size', '10'], oneUserCap);
      expect(JSON.parse(rerun.stdout), rerun.stderr).toEqual({
        read: 25,
        created: 15,
        unchanged: 10,
        rejected: 0,
        errors: [],
      });
      expect(await f.countAssociations()).toBe(25);
      expect(await f.auditEvents()).toHaveLength(25);
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
        errors: [
          importError(5, 'user_id', 'too_many_associations'),
          importError(6, 'user_id', 'too_many_associations'),
        ],
      };
      expect(await importFile(path, '--dry-run', '--batch-size', '2')).toEqual({ ...expected, dry_run: true });
      expect(await f.countAssociations()).toBe(0);
      expect(await f.auditEvents()).toEqual([]);
      expect(await counts()).toEqual({ [user.id]: 0 });
      expect(await importFile(path, '--batch-size', '2')).toEqual(expected);
    });
  });
});
