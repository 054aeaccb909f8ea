import { describe, expect, it } from 'vitest';
import { request } from '../support/http';
import { tokenFor } from '../support/tokens';
import { ndjson, useImportCli } from '../support/import-cli';

// Each test runs the CLI several times, a process start-up each: more time than the default.
describe('associations:import: good files, formats, the export output, usage errors', { timeout: 180_000 }, () => {
  const { t, f, file, cli, importFile, stored, counts, missingFile } = useImportCli();

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
      // One event per row; the order of ids across users is the lanes' (a user's own are in file order).
      const events = await f.auditEvents();
      const byUserThenId = (a: Record<string, unknown>, b: Record<string, unknown>) =>
        Number(a.target_user_id) - Number(b.target_user_id) || Number(a.id) - Number(b.id);
      expect(events.sort(byUserThenId)).toEqual(
        rows.map((row) => ({
          id: expect.any(Number),
          occurred_at: expect.any(Date),
          actor_user_id: null,
          action: 'social_association.created',
          target_user_id: row.user_id,
          provider: row.provider,
          ext_id: row.ext_id,
          request_id: null,
          // The id of the batch's transaction: the webhook outbox's key (the event is delivered like any other).
          xid: expect.stringMatching(/^[1-9][0-9]*$/),
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

  it('fails with exit 1 and a message for a missing file, a bad --format or --batch-size', async () => {
    const [missing, format, batch] = await Promise.all([
      cli(['associations:import', '--file', missingFile()]),
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
