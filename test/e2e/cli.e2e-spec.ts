import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { TEST_JWT_SECRET } from '../support/create-test-app';
import { request } from '../support/http';
import { expectProblem, problems } from '../support/problem';
import { useTestApp } from '../support/use-test-app';

const ROOT = resolve(__dirname, '../..');
const CLI = join(ROOT, 'dist/src/cli/main.js');

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

describe('CLI (node dist/src/cli/main.js)', () => {
  beforeAll(() => ensureBuilt(), 180_000);
  const t = useTestApp();
  const f = t.f;

  /** Runs the real CLI against the test app's database (on the embedded engine: through the test app's socket), as an operator would. */
  function cli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
    const base: Record<string, string | undefined> = { ...process.env };
    delete base.DATABASE_URL;
    delete base.DATABASE_PATH;
    delete base.LOG_LEVEL;
    return new Promise((resolvePromise, reject) => {
      const child = spawn(process.execPath, [CLI, ...args], {
        cwd: ROOT,
        env: { ...base, NODE_ENV: 'production', JWT_SECRET: TEST_JWT_SECRET, ...t.database.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      child.on('error', reject);
      child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
    });
  }

  /** Exit code 0 and exactly one JSON line on stdout; returns it parsed. */
  function jsonLine(result: CliResult): Record<string, unknown> {
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.endsWith('\n')).toBe(true);
    const lines = result.stdout.slice(0, -1).split('\n');
    expect(lines).toHaveLength(1);
    return JSON.parse(lines[0]) as Record<string, unknown>;
  }

  function expectFailure(result: CliResult, message: RegExp): void {
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
  }

  describe('users:create', () => {
    it('prints the user as one JSON line (--username --role admin --email --ext-id --no-password)', async () => {
      const result = await cli([
        'users:create',
        '--username',
        'alice',
        '--role',
        'admin',
        '--email',
        'alice@example.com',
        '--ext-id',
        '42',
        '--no-password',
      ]);
      const user = jsonLine(result);
      expect(user).toEqual({
        id: expect.any(Number),
        username: 'alice',
        ext_id: '42',
        email: 'alice@example.com',
        role: 'admin',
        has_usable_password: false,
      });
      const rows: Record<string, unknown>[] = await t.dataSource.query('SELECT id, username, role FROM users');
      expect(rows).toEqual([{ id: user.id, username: 'alice', role: 'admin' }]);
    });

    it('fails with exit code 1 and a message on stderr for a duplicate username', async () => {
      await f.makeUser({ username: 'carol' });
      expectFailure(await cli(['users:create', '--username', 'carol']), /carol.*already taken|already taken/i);
      const rows: unknown[] = await t.dataSource.query('SELECT id FROM users');
      expect(rows).toHaveLength(1);
    });

    it('fails with exit code 1 for invalid input (unknown role, bad username, bad email)', async () => {
      const [role, username, email] = await Promise.all([
        cli(['users:create', '--username', 'dave', '--role', 'superuser']),
        cli(['users:create', '--username', 'd a v e']),
        cli(['users:create', '--username', 'dave', '--email', 'not-an-email']),
      ]);
      expectFailure(role, /role/);
      expectFailure(username, /username/);
      expectFailure(email, /email/);
      const rows: unknown[] = await t.dataSource.query('SELECT id FROM users');
      expect(rows).toHaveLength(0);
    });
  });

  describe('associations:create', () => {
    it('prints the association as one JSON line and audits it', async () => {
      const user = await f.makeUser();
      const association = jsonLine(
        await cli(['associations:create', '--user-id', String(user.id), '--provider', 'keycloak', '--ext-id', 'kc-1']),
      );
      expect(association).toMatchObject({
        user_id: user.id,
        provider: 'keycloak',
        ext_id: 'kc-1',
        profile_url: null,
        show_in_profile: false,
      });
      expect(await f.countAssociations(user.id)).toBe(1);
      expect(await f.auditEvents()).toMatchObject([
        { action: 'social_association.created', actor_user_id: null, target_user_id: user.id, ext_id: 'kc-1' },
      ]);
    });

    it('fails with exit code 1 for a user that does not exist', async () => {
      expectFailure(
        await cli(['associations:create', '--user-id', '999', '--provider', 'google', '--ext-id', 'g']),
        /999.*does not exist|does not exist/,
      );
      expect(await f.countAssociations()).toBe(0);
    });

    it('fails with exit code 1 for an identity linked already', async () => {
      const user = await f.makeUser();
      await f.link(user.id, { provider: 'google', ext_id: 'g-1' });
      expectFailure(
        await cli(['associations:create', '--user-id', String(user.id), '--provider', 'google', '--ext-id', 'g-1']),
        /already linked/,
      );
      expect(await f.countAssociations()).toBe(1);
    });
  });

  describe('tokens:issue', () => {
    it('prints {"token": ...} whose claims are a SelfCommunity access token', async () => {
      const user = await f.makeUser();
      const before = Math.floor(Date.now() / 1000);
      const output = jsonLine(await cli(['tokens:issue', '--user-id', String(user.id)]));
      expect(output).toEqual({ token: expect.any(String), expires_in: 3600 });
      const [header, payload] = (output.token as string).split('.');
      expect(JSON.parse(Buffer.from(header, 'base64url').toString())).toEqual({ alg: 'HS256', typ: 'JWT' });
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
      expect(claims).toEqual({
        user_id: user.id,
        token_type: 'access',
        jti: expect.any(String),
        iat: expect.any(Number),
        exp: expect.any(Number),
      });
      expect(claims.iat).toBeGreaterThanOrEqual(before - 1);
      expect(claims.exp - claims.iat).toBe(3600);
    });

    it('issues a token that the API accepts (users:create, associations:create, tokens:issue, DELETE: 204)', async () => {
      const user = jsonLine(await cli(['users:create', '--username', 'erin', '--no-password']));
      jsonLine(
        await cli(['associations:create', '--user-id', String(user.id), '--provider', 'google', '--ext-id', '1']),
      );
      await f.link(user.id as number, { provider: 'github', ext_id: '2' });
      const { token } = jsonLine(await cli(['tokens:issue', '--user-id', String(user.id)]));

      const response = await request(t.baseUrl, 'DELETE', `/api/v2/user/${String(user.id)}/provider/`, {
        token: token as string,
        body: { ext_id: 1, provider: 'google' },
      });
      expect(response.status, response.text).toBe(204);
      // The user was created without a password: the last association is protected.
      const last = await request(t.baseUrl, 'DELETE', `/api/v2/user/${String(user.id)}/provider/`, {
        token: token as string,
        body: { ext_id: '2', provider: 'github' },
      });
      expectProblem(last, problems.lastSignInMethod());
    });

    it('honours --expires-in', async () => {
      const user = await f.makeUser();
      const output = jsonLine(await cli(['tokens:issue', '--user-id', String(user.id), '--expires-in', '30m']));
      expect(output.expires_in).toBe(1800);
      const claims = JSON.parse(Buffer.from((output.token as string).split('.')[1], 'base64url').toString());
      expect(claims.exp - claims.iat).toBe(1800);
    });

    it('fails with exit code 1 for a missing user, a malformed user id, a malformed duration or one past the maximum lifetime', async () => {
      const user = await f.makeUser();
      const [missing, malformed, duration, tooLong] = await Promise.all([
        cli(['tokens:issue', '--user-id', String(user.id + 1)]),
        cli(['tokens:issue', '--user-id', 'abc']),
        cli(['tokens:issue', '--user-id', String(user.id), '--expires-in', 'soon']),
        cli(['tokens:issue', '--user-id', String(user.id), '--expires-in', '2d']),
      ]);
      expectFailure(missing, /does not exist/);
      expectFailure(malformed, /id/);
      expectFailure(duration, /expires-in/);
      expectFailure(tooLong, /at most 86400 s: .*JWT_MAX_LIFETIME_SECONDS/);
    });
  });

  describe('configuration', () => {
    it('fails with exit code 1 naming JWT_SECRET, never printing it, when the secret is too short', async () => {
      const result = await cli(['users:create', '--username', 'frank'], { JWT_SECRET: 'short-secret-value' });
      expectFailure(result, /JWT_SECRET/);
      expect(result.stderr).not.toContain('short-secret-value');
      const rows: unknown[] = await t.dataSource.query('SELECT id FROM users');
      expect(rows).toHaveLength(0);
    });
  });
});
