import { describe, expect, it } from 'vitest';
import { IMPORT_CAP, importError, ImportSummary, ndjson, useImportCli } from '../support/import-cli';

// Each test runs the CLI several times, a process start-up each: more time than the default.
describe('associations:import: bad lines', { timeout: 180_000 }, () => {
  const { f, file, cli, importFile, stored, identities, expectCountsInStep } = useImportCli();

  describe('bad lines are reported by line number, and nothing of them is written', () => {
    it('each rule of the API: field rules, provider allow-list, cross-field rules, missing user, cap, identity linked elsewhere', async () => {
      const [alice, bob, full] = [await f.makeUser(), await f.makeUser(), await f.makeUser()];
      for (let i = 0; i < IMPORT_CAP; i++) await f.link(full.id, { ext_id: `held-${i}` });
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
      const expected: ImportSummary = {
        read: 18,
        created: 2,
        unchanged: 0,
        rejected: 16,
        errors: [
          importError(2, 'provider', 'invalid'),
          importError(3, 'ext_id', 'invalid'),
          importError(4, 'extra', 'unknown_field'),
          importError(5, 'user_id', 'invalid'),
          importError(6, 'user_id', 'required'),
          importError(7, 'provider', 'provider_not_allowed'),
          importError(8, 'profile_url', 'invalid_field'),
          importError(9, 'metadata', 'invalid_field'),
          importError(10, 'profile_url', 'invalid'),
          importError(11, 'created_at', 'invalid'),
          importError(12, 'user_id', 'not_found'),
          importError(13, 'user_id', 'too_many_associations'),
          importError(14, 'ext_id', 'already_linked'),
          importError(15, 'show_in_profile', 'linked_with_other_fields'),
          importError(16, null, 'malformed_json'),
          importError(17, null, 'malformed_json'),
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
      expect((await identities()).sort()).toEqual(
        [
          ...before.map((row) => `${row.user_id}:${row.provider}:${row.ext_id}`),
          `${a}:google:ok-1`,
          `${a}:google:ok-2`,
        ].sort(),
      );
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
      const expected: ImportSummary = {
        read: 9,
        created: 3,
        unchanged: 2,
        rejected: 4,
        errors: [
          importError(4, 'ext_id', 'already_linked'),
          importError(5, 'show_in_profile', 'linked_with_other_fields'),
          importError(7, 'user_id', 'too_many_associations'),
          importError(8, 'user_id', 'too_many_associations'),
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
          importError(3, null, 'malformed_csv'),
          importError(4, null, 'malformed_csv'),
          importError(5, 'ext_id', 'invalid'),
          importError(8, null, 'malformed_csv'),
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
});
