// `npm run bench:import`: the bulk import (`associations:import`) of a large NDJSON file into
// PostgreSQL, run as an operator runs it (the built CLI), on a scratch database that is dropped
// afterwards: lines/s and the CLI's peak RSS, for a first import and for a re-run of the same file
// (every line unchanged). See bench/README.md.
//
// Options (environment, or --name=value for BENCH_NAME): DATABASE (server, default
// postgres://postgres@127.0.0.1:5432/postgres), BENCH_IMPORT_DB (scratch database, sa_bench_import),
// BENCH_IMPORT_LINES (1000000), BENCH_IMPORT_USERS (200000), BENCH_IMPORT_BATCH_SIZE (the CLI's
// default), BENCH_SKIP_BUILD=1, BENCH_KEEP_DB=1, BENCH_OUTPUT (bench/RESULTS.md; - for none).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { cpuReferenceMs, loadAverage, machine, versions } from './facts.mjs';
import { cpuMs, readStatusKb } from './measure.mjs';
import { OptionsError, databaseName, positiveInt, scriptSource } from './options.mjs';
import { buildService, postgresBackends, Processes, runMigrations } from './processes.mjs';
import { writeSections } from './results-file.mjs';
import { recreateDatabase, seedUsers, withDatabase } from './seed.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const WORK = join(ROOT, 'bench', '.work');
const log = (line) => process.stdout.write(`${line}\n`);
const n = (value) => value.toLocaleString('en-US');

function readOptions() {
  const source = scriptSource();
  const int = (name, fallback) => positiveInt(source, name, fallback);
  const database = databaseName(source, 'BENCH_IMPORT_DB', 'sa_bench_import');
  return Object.freeze({
    server: source.DATABASE ?? source.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    database,
    lines: int('BENCH_IMPORT_LINES', 1_000_000),
    users: int('BENCH_IMPORT_USERS', 200_000),
    batchSize: source.BENCH_IMPORT_BATCH_SIZE ? int('BENCH_IMPORT_BATCH_SIZE') : undefined,
    skipBuild: source.BENCH_SKIP_BUILD === '1',
    keepDb: source.BENCH_KEEP_DB === '1',
    output: source.BENCH_OUTPUT ?? join(ROOT, 'bench', 'RESULTS.md'),
  });
}

/**
 * The file an export would write: one JSON object a line, every field present. Line k links
 * user (k mod users) + 1: 5 lines per user at the defaults. 70% google (with a profile URL,
 * half of them shown), 20% github, 10% external with metadata.
 */
async function writeFile(file, { lines, users }) {
  const out = createWriteStream(file);
  const createdAt = '2025-06-01T12:00:00.000000+00:00';
  for (let k = 0; k < lines; k++) {
    const kind = k % 10;
    const provider = kind < 7 ? 'google' : kind < 9 ? 'github' : 'external';
    const line = JSON.stringify({
      user_id: (k % users) + 1,
      provider,
      ext_id: `${provider}-${k}`,
      profile_url: provider === 'google' ? `https://profiles.example.org/u/${k}` : null,
      show_in_profile: provider === 'google' && k % 2 === 0,
      metadata: provider === 'external' ? { tenant: `t-${k % 97}`, source: 'bench' } : null,
      created_at: createdAt,
    });
    if (!out.write(`${line}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

/**
 * Runs the built CLI's import; samples its RSS (and VmHWM) every 100 ms, and the CPU time it and
 * the PostgreSQL backends of `database` have used (`admin`: a client on the server).
 */
function runImport(env, file, batchSize, { admin, database }) {
  const args = [join(ROOT, 'dist', 'src', 'cli', 'main.js'), 'associations:import', '--file', file];
  if (batchSize) args.push('--batch-size', String(batchSize));
  const started = performance.now();
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let peakRssKb = 0;
  let hwmKb = 0;
  let cliCpuMs = 0;
  const backendCpuMs = new Map();
  let ticks = 0;
  const sample = () => {
    peakRssKb = Math.max(peakRssKb, readStatusKb(child.pid, 'VmRSS'));
    hwmKb = Math.max(hwmKb, readStatusKb(child.pid, 'VmHWM'));
    const cpu = cpuMs(child.pid);
    if (Number.isFinite(cpu)) cliCpuMs = cpu;
    for (const pid of backendCpuMs.keys()) {
      const ms = cpuMs(pid);
      if (Number.isFinite(ms)) backendCpuMs.set(pid, ms);
    }
    if (ticks++ % 5 === 0) {
      void postgresBackends(admin, database).then((pids) => {
        for (const pid of pids) if (!backendCpuMs.has(pid)) backendCpuMs.set(pid, cpuMs(pid) || 0);
      });
    }
  };
  const timer = setInterval(sample, 100);
  let stdout = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => process.stderr.write(chunk));
  return new Promise((done, fail) => {
    child.on('error', fail);
    child.on('exit', (code) => {
      clearInterval(timer);
      const seconds = (performance.now() - started) / 1000;
      const last = stdout.trimEnd().split('\n').at(-1);
      if (code !== 0) return fail(new Error(`the import exited with ${code}: ${last}`));
      const postgresCpuMs = [...backendCpuMs.values()].reduce((sum, ms) => sum + ms, 0);
      done({
        seconds,
        summary: JSON.parse(last),
        peakRssMb: peakRssKb / 1024,
        hwmMb: hwmKb / 1024,
        cliCpuMs,
        postgresCpuMs,
      });
    });
  });
}

async function check(databaseUrl, lines) {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query(`
      SELECT (SELECT count(*) FROM social_associations)::int AS associations,
             (SELECT count(*) FROM audit_events)::int AS audit_events,
             (SELECT sum(association_count) FROM users)::int AS counted`);
    const [r] = rows;
    if (r.associations !== lines || r.audit_events !== lines || r.counted !== lines) {
      throw new Error(`after the import: ${JSON.stringify(r)}, expected ${lines} of each`);
    }
    return r;
  } finally {
    await client.end();
  }
}

function section(options, facts, { date, file, first, again, batchSize }) {
  const { machine: m, loadBefore, cpuReference, versions: v } = facts;
  const perThousand = (ms, run) => ((ms / run.summary.read) * 1000).toFixed(0);
  const row = (label, run) =>
    `| ${label} | ${n(run.summary.read)} | ${n(run.summary.created)} | ${n(run.summary.unchanged)} | ${run.seconds.toFixed(1)} s | ${n(Math.round(run.summary.read / run.seconds))} | ${perThousand(run.cliCpuMs, run)} ms | ${perThousand(run.postgresCpuMs, run)} ms | ${run.peakRssMb.toFixed(0)} MB | ${run.hwmMb.toFixed(0)} MB |`;
  return [
    '## Bulk import (`associations:import`) into PostgreSQL',
    '',
    `- date: ${date.toISOString()}`,
    `- machine: ${m.cores} cores, ${m.cpu}, ${m.ramGiB.toFixed(0)} GiB RAM; load average before the run ${loadBefore.map((l) => l.toFixed(2)).join(' ')} (shared with other work); one core's speed (bench/facts.mjs cpuReferenceMs, SHA-256 of 64 MiB, lower is faster) ${cpuReference.before.toFixed(0)} ms before the run, ${cpuReference.after.toFixed(0)} ms after`,
    `- versions: Node ${v.node}, PostgreSQL ${facts.postgres}, pg ${v.pg}, class-validator ${v['class-validator']}`,
    `- command: \`node dist/src/cli/main.js associations:import --file ${file}\`${batchSize ? ` --batch-size ${batchSize}` : ''} (NODE_ENV=production, LOG_LEVEL=warn, batch size ${batchSize ?? 'default (5000)'}), on a new database with ${n(options.users)} users and no associations`,
    `- file: ${n(options.lines)} NDJSON lines as the export writes them (every field, created_at included; 70% google with a profile URL, 20% github, 10% external with metadata), ${(facts.fileBytes / 2 ** 20).toFixed(0)} MiB`,
    "- time: the CLI process from start to exit (Nest start-up and connecting included); CPU per 1,000 lines: user + system time of the CLI process and of the PostgreSQL backends serving its connections (/proc/<pid>/stat, sampled every 100 ms); RSS sampled every 100 ms from /proc/<pid>/status, VmHWM the kernel's high-water mark",
    '',
    '| run | read | created | unchanged | time | lines/s | CLI CPU / 1k lines | PostgreSQL CPU / 1k lines | peak RSS (sampled) | VmHWM |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    row('first import', first),
    row('re-run of the same file', again),
    '',
    `Checked after the first import: ${n(options.lines)} associations, ${n(options.lines)} audit events, and the users' association_count summing to ${n(options.lines)}. Target: at least 20,000 lines/s, memory that does not grow with the file.`,
  ].join('\n');
}

async function main() {
  const options = readOptions();
  mkdirSync(WORK, { recursive: true });
  const processes = new Processes(WORK, { log, oneShot: ['build', 'migrations'] });
  const secret = randomBytes(36).toString('base64url');
  const databaseUrl = withDatabase(options.server, options.database);
  const file = join(WORK, `import-${options.lines}.ndjson`);
  const loadBefore = loadAverage();
  const cpuBefore = cpuReferenceMs();
  try {
    if (!options.skipBuild) {
      log('building');
      await buildService(processes, ROOT);
    }
    log(`creating ${options.database}`);
    const postgres = await recreateDatabase(options.server, options.database);
    await runMigrations(processes, { serviceRoot: ROOT, databaseUrl, secret });
    await seedUsers(databaseUrl, { users: options.users, admins: 0 }, log);
    log(`writing ${n(options.lines)} lines to ${file}`);
    await writeFile(file, options);
    const env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      DATABASE_URL: databaseUrl,
      JWT_SECRET: secret,
    };
    const admin = new pg.Client({ connectionString: options.server });
    await admin.connect();
    const target = { admin, database: options.database };
    log('importing');
    const first = await runImport(env, file, options.batchSize, target);
    log(JSON.stringify({ ...first, summary: { ...first.summary, errors: first.summary.errors.length } }));
    await check(databaseUrl, options.lines);
    log('importing the same file again');
    const again = await runImport(env, file, options.batchSize, target);
    await admin.end();
    log(JSON.stringify({ ...again, summary: { ...again.summary, errors: again.summary.errors.length } }));
    if (again.summary.unchanged !== options.lines) throw new Error('the re-run did not find every line unchanged');

    const facts = {
      machine: machine(),
      loadBefore,
      cpuReference: { before: cpuBefore, after: cpuReferenceMs() },
      postgres,
      fileBytes: statSync(file).size,
      versions: versions(ROOT, ['pg', 'class-validator']),
    };
    const body = section(options, facts, {
      date: new Date(),
      file: `bench/.work/import-${options.lines}.ndjson`,
      first,
      again,
      batchSize: options.batchSize,
    });
    log(`\n${body}`);
    if (writeSections(options.output, { import: body })) log(`\nwrote ${options.output}`);
  } finally {
    rmSync(file, { force: true });
    if (!options.keepDb) {
      const client = new pg.Client({ connectionString: options.server });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${options.database} WITH (FORCE)`);
      await client.end();
    }
  }
}

main().catch((error) => {
  process.stderr.write(`${error instanceof OptionsError ? '' : 'bench:import failed: '}${error.message}\n`);
  process.exit(error instanceof OptionsError ? 2 : 1);
});
