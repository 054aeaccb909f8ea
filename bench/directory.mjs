// `npm run bench:directory`: the admin routes of "Admin dashboards and migrations" (the search
// GET /api/v2/social-associations/ with each filter, its /stats/ and its /export/) at a million
// associations, against the built service on a scratch PostgreSQL database that is dropped
// afterwards: p50/p99 and req/s per filter, the stats' latency cached and cold, and the export's
// rows/s with the service's peak RSS. See bench/README.md.
//
// Options (environment, or --name=value for BENCH_NAME): DATABASE (server, default
// postgres://postgres@127.0.0.1:5432/postgres), BENCH_DIRECTORY_DB (scratch database, sa_bench_directory),
// BENCH_USERS (100000), BENCH_ASSOCIATIONS (1000000), BENCH_CONNECTIONS (4), BENCH_DURATION (5 s per
// measured run), BENCH_WARMUP (1 s per filter, not counted), BENCH_SERVICE_PORT (3930),
// BENCH_SERVICE_ROOT (build and run the service of another checkout, e.g. a clean `git archive` of
// HEAD; default this one), BENCH_CODE_LABEL (what the results say was measured), BENCH_SKIP_BUILD=1, BENCH_KEEP_DB=1 (do not drop it), BENCH_REUSE_DB=1 (keep a database that already
// holds the expected rows instead of seeding it again), BENCH_TIMEOUT (seconds, 900),
// BENCH_OUTPUT (bench/RESULTS.md; - for none).
import autocannon from 'autocannon';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { codeLabel, loadAverage, machine, versions } from './facts.mjs';
import { cpuMs, cpuOf, cpuSince, Latencies, readStatusKb } from './measure.mjs';
import { OptionsError, databaseName, positiveInt, scriptSource } from './options.mjs';
import {
  assertPortFree,
  buildService,
  postgresBackends,
  Processes,
  runMigrations,
  serverEnv,
  serviceScript,
  startServer,
  waitReady,
} from './processes.mjs';
import { writeSections } from './results-file.mjs';
import { recreateDatabase, seedUsers, withDatabase } from './seed.mjs';
import { signAccessToken } from './workloads.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const WORK = join(ROOT, 'bench', '.work');
const BASE = '/api/v2/social-associations';
const PROVIDERS = ['google', 'github', 'facebook', 'keycloak', 'azure-ad'];
/** created_at of association n: 2025-01-01 + (n - 1) x (one year / associations), so id order is time order. */
const EPOCH_MS = Date.UTC(2025, 0, 1);
const YEAR_MS = 365 * 24 * 3600 * 1000;
const WEEK_MS = 7 * 24 * 3600 * 1000;
/** The stats' cache (STATS_MAX_AGE_MS in association-directory.service.ts), and how long to idle past it. */
const STATS_IDLE_MS = 5_500;
const COLD_STATS_CALLS = 3;
const log = (line) => process.stdout.write(`${line}\n`);
const n = (value) => Math.round(value).toLocaleString('en-US');
const ms = (value) => (Number.isFinite(value) ? value.toFixed(2) : '-');

function readOptions() {
  const source = scriptSource();
  const int = (name, fallback) => positiveInt(source, name, fallback);
  const database = databaseName(source, 'BENCH_DIRECTORY_DB', 'sa_bench_directory');
  const options = {
    server: source.DATABASE ?? source.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    database,
    users: int('BENCH_USERS', 100_000),
    associations: int('BENCH_ASSOCIATIONS', 1_000_000),
    connections: int('BENCH_CONNECTIONS', 4),
    duration: int('BENCH_DURATION', 5),
    warmup: source.BENCH_WARMUP === '0' ? 0 : int('BENCH_WARMUP', 1),
    port: int('BENCH_SERVICE_PORT', 3930),
    serviceRoot: resolve(source.BENCH_SERVICE_ROOT ?? ROOT),
    codeLabel: source.BENCH_CODE_LABEL || undefined,
    skipBuild: source.BENCH_SKIP_BUILD === '1',
    keepDb: source.BENCH_KEEP_DB === '1',
    reuseDb: source.BENCH_REUSE_DB === '1',
    timeoutSeconds: int('BENCH_TIMEOUT', 900),
    output: source.BENCH_OUTPUT ?? join(ROOT, 'bench', 'RESULTS.md'),
  };
  if (options.users < 100) throw new OptionsError('BENCH_USERS must be at least 100');
  if (options.associations < 100_000) throw new OptionsError('BENCH_ASSOCIATIONS must be at least 100000');
  return Object.freeze(options);
}

// ------------------------------------------------------------------ the data

/**
 * 1..users (user 1 the admin whose token drives the load), then `associations` rows with SQL
 * generate_series: row n is ext_id 'ext-<n>' of provider PROVIDERS[n mod 5], held by user
 * 1 + (n mod users), linked at createdAtOf(n) (a year, oldest first); a third shown in the profile,
 * github rows with a profile URL. users.association_count is recounted from the rows.
 */
async function seed(databaseUrl, options) {
  await seedUsers(databaseUrl, { users: options.users, admins: 1 }, log);
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('SET synchronous_commit = off');
    // The rows are consistent by construction: skip the per-row foreign-key trigger.
    await client.query('SET session_replication_role = replica');
    await timed(`${n(options.associations)} associations`, () =>
      client.query(
        `INSERT INTO social_associations (id, user_id, provider, ext_id, profile_url, show_in_profile, created_at)
         SELECT g, 1 + (g % $2::int), p, 'ext-' || g,
                CASE WHEN p = 'github' THEN 'https://github.com/ext-' || g END,
                g % 3 = 0,
                timestamptz '2025-01-01T00:00:00Z' + (g - 1) * (interval '365 days' / $1::int)
           FROM generate_series(1, $1::int) AS g,
                LATERAL (SELECT ($3::text[])[1 + g % 5] AS p) AS provider`,
        [options.associations, options.users, PROVIDERS],
      ),
    );
    await client.query('SET session_replication_role = DEFAULT');
    await client.query(`SELECT setval(pg_get_serial_sequence('social_associations', 'id'), $1)`, [
      options.associations,
    ]);
    await timed('association counts', () =>
      client.query(`
        UPDATE users u SET association_count = held.n
          FROM (SELECT user_id, count(*)::int AS n FROM social_associations GROUP BY user_id) held
         WHERE u.id = held.user_id`),
    );
    await timed('VACUUM ANALYZE', async () => {
      await client.query('VACUUM ANALYZE users');
      await client.query('VACUUM ANALYZE social_associations');
    });
  } finally {
    await client.end();
  }
}

/** What the database holds; throws when it is not there or not migrated. */
async function counts(databaseUrl) {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query(`
      SELECT (SELECT count(*) FROM users)::int AS users,
             (SELECT count(*) FROM social_associations)::int AS associations,
             (SELECT coalesce(sum(association_count), 0) FROM users)::int AS counted,
             (SELECT count(*) FROM users WHERE role = 'admin')::int AS admins`);
    return rows[0];
  } finally {
    await client.end();
  }
}

const randomInt = (low, high) => low + Math.floor(Math.random() * (high - low + 1));

// ------------------------------------------------------------------ the searches

/**
 * The searches measured, each a function giving the query of the next request (most rotate over
 * rows, so no case measures one hot row) and what the filter matches. `firstPage`: the first page
 * without a filter, for its `next`.
 */
function searchCases(options, firstPage) {
  const rows = options.associations;
  const row = () => randomInt(1, rows);
  const weekSince = (since) => ({
    created_since: since.toISOString(),
    created_until: new Date(since.getTime() + WEEK_MS).toISOString(),
  });
  // A week somewhere in the year, ending at least a week before its last row.
  const week = () => weekSince(new Date(EPOCH_MS + Math.random() * (YEAR_MS - 2 * WEEK_MS)));
  return [
    { key: 'none', title: 'no filter', query: () => ({}), matches: `all ${n(rows)}` },
    {
      key: 'provider',
      title: 'provider',
      query: () => ({ provider: PROVIDERS[randomInt(0, 4)] }),
      matches: `${n(rows / 5)} (one of 5, rotated)`,
    },
    {
      key: 'user_id',
      title: 'user_id',
      query: () => ({ user_id: randomInt(2, options.users) }),
      matches: `${n(rows / options.users)} (a random user)`,
    },
    { key: 'ext_id', title: 'ext_id', query: () => ({ ext_id: `ext-${row()}` }), matches: '1 (a random row)' },
    {
      key: 'provider+ext_id',
      title: 'provider + ext_id',
      query: () => {
        const r = row();
        return { provider: PROVIDERS[r % 5], ext_id: `ext-${r}` };
      },
      matches: '1 (a random row)',
    },
    {
      key: 'prefix-narrow',
      title: 'ext_id_prefix, ~100 rows',
      // ext-4242 matches ext-4242, ext-42420..9 and ext-424200..99 (at 1M rows).
      query: () => ({ ext_id_prefix: `ext-${randomInt(1000, 9999)}` }),
      matches: `${n(prefixMatches(4242, rows))} (ext-<a random 1000..9999>)`,
    },
    {
      key: 'prefix-wide-old',
      title: 'ext_id_prefix, ~10% (oldest rows)',
      // ext-1: ext-1, ext-10..19, ..., ext-100000..199999 (and ext-1000000): mostly rows of the first months.
      query: () => ({ ext_id_prefix: 'ext-1' }),
      matches: `${n(prefixMatches(1, rows))} (ext-1)`,
    },
    {
      key: 'prefix-wide-new',
      title: 'ext_id_prefix, ~10% (newest rows)',
      // ext-9: its widest run, ext-900000..999999, is the newest tenth of the table.
      query: () => ({ ext_id_prefix: 'ext-9' }),
      matches: `${n(prefixMatches(9, rows))} (ext-9)`,
    },
    {
      key: 'window',
      title: 'created_since + created_until (1 week)',
      query: week,
      matches: `~${n((rows * WEEK_MS) / YEAR_MS)} (a random week)`,
    },
    {
      key: 'provider+window',
      title: 'provider + created window (1 week)',
      query: () => ({ provider: PROVIDERS[randomInt(0, 4)], ...week() }),
      matches: `~${n((rows * WEEK_MS) / YEAR_MS / 5)} (random provider and week)`,
    },
    {
      key: 'cursor',
      title: 'second page (no filter, `next` cursor)',
      query: () => ({ cursor: firstPage.next }),
      matches: `all ${n(rows)}`,
    },
  ];
}

/** How many of ext-1..ext-<rows> start with ext-<digits> (`digits` a number without leading zeros). */
function prefixMatches(digits, rows) {
  let total = 0;
  for (let width = 1; digits * width <= rows; width *= 10) {
    total += Math.max(0, Math.min(rows, digits * width + width - 1) - digits * width + 1);
  }
  return total;
}

const pathOf = (route, query) => {
  const search = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)])).toString();
  return `${BASE}${route}${search ? `?${search}` : ''}`;
};

/** One GET answered as JSON; throws unless 200. */
async function getJson(port, auth, path) {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { headers: { authorization: auth } });
  const body = await response.text();
  if (response.status !== 200) throw new Error(`GET ${path}: ${response.status} ${body.slice(0, 300)}`);
  return JSON.parse(body);
}

/**
 * A few requests of each case before it is measured: every one 200 and with rows (the values
 * match). Returns the smallest and largest page seen.
 */
async function checkCase(port, auth, item, samples = 5) {
  const sizes = [];
  for (let i = 0; i < samples; i++) {
    const path = pathOf('/', item.query());
    const page = await getJson(port, auth, path);
    if (!Array.isArray(page.results) || page.results.length === 0) throw new Error(`GET ${path}: no rows`);
    sizes.push(page.results.length);
  }
  return { min: Math.min(...sizes), max: Math.max(...sizes) };
}

/**
 * A closed loop of `connections` over `seconds` on GET `nextPath()`, rotating per request: latency
 * of every response, statuses other than 200, socket errors, and the CPU time the service and the
 * PostgreSQL backends of its database used meanwhile.
 */
async function load(ctx, nextPath, seconds) {
  const { service, auth, options } = ctx;
  const dbBefore = cpuOf(await ctx.backends());
  const cpuBefore = cpuMs(service.child.pid);
  const latencies = new Latencies();
  const unexpected = {};
  const instance = autocannon({
    url: `http://127.0.0.1:${options.port}`,
    connections: options.connections,
    duration: seconds,
    timeout: 10,
    requests: [
      {
        method: 'GET',
        setupRequest: (req) => ({ ...req, path: nextPath(), headers: { authorization: auth } }),
      },
    ],
  });
  instance.on('response', (_client, status, _bytes, responseMs) => {
    latencies.push(responseMs);
    if (status !== 200) unexpected[status] = (unexpected[status] ?? 0) + 1;
  });
  const result = await instance;
  const cpu = cpuMs(service.child.pid) - cpuBefore;
  const dbCpu = cpuSince(dbBefore, cpuOf(await ctx.backends()));
  await sleep(200); // the requests still in flight
  return {
    completed: latencies.length,
    rps: latencies.length / result.duration,
    ...Latencies.percentiles([latencies]),
    unexpected,
    socketErrors: result.errors,
    cpuPerReq: cpu / latencies.length,
    dbCpuPerReq: dbCpu / latencies.length,
  };
}

const errorsOf = (r) => {
  const statuses = Object.entries(r.unexpected).map(([status, count]) => `${count}x${status}`);
  if (r.socketErrors) statuses.push(`${r.socketErrors} socket errors`);
  return statuses.length ? statuses.join(' ') : '0';
};

/**
 * The plan PostgreSQL picks for one request of a case (the service's own searchSql, from dist/),
 * with EXPLAIN ANALYZE: the indexes it reads and its execution time. Undefined when dist/ cannot
 * be loaded.
 */
async function explain(client, searchSql, item) {
  if (!searchSql) return undefined;
  const q = item.query();
  const cursor = q.cursor ? Buffer.from(q.cursor, 'base64url').toString('utf8').split('|') : undefined;
  const [sql, params] = searchSql(
    {
      provider: q.provider,
      userId: q.user_id,
      extId: q.ext_id,
      extIdPrefix: q.ext_id_prefix,
      createdSince: q.created_since,
      createdUntil: q.created_until,
    },
    51,
    cursor ? { createdAt: cursor[0], id: Number(cursor[1]) } : undefined,
  );
  const { rows } = await client.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`, params);
  const [top] = rows[0]['QUERY PLAN'];
  const nodes = [];
  const walk = (node) => {
    nodes.push(node);
    for (const child of node.Plans ?? []) walk(child);
  };
  walk(top.Plan);
  const scans = nodes
    .filter((node) => /Scan/.test(node['Node Type']))
    .map(
      (node) =>
        `${node['Node Type']}${node['Scan Direction'] === 'Backward' ? ' Backward' : ''}${node['Index Name'] ? ` ${node['Index Name']}` : ''} (${n(node['Actual Rows'])} rows)`,
    );
  return { scans: scans.join(', '), executionMs: top['Execution Time'] };
}

function loadSearchSql(serviceRoot) {
  try {
    const require = createRequire(import.meta.url);
    return require(join(serviceRoot, 'dist', 'src', 'social-associations', 'social-associations.repository.js'))
      .searchSql;
  } catch (error) {
    log(`(no plans: cannot load searchSql from dist/: ${error.message})`);
    return undefined;
  }
}

// ------------------------------------------------------------------ stats and export

/** GET /stats/: a closed loop (mostly answered from the 5 s cache), then cold calls after idling past it. */
async function measureStats(ctx) {
  const { options, auth } = ctx;
  const stats = await getJson(options.port, auth, pathOf('/stats/', {}));
  if (stats.total !== options.associations)
    throw new Error(`/stats/ total ${stats.total}, not ${options.associations}`);
  const cached = await load(ctx, () => `${BASE}/stats/`, options.duration);
  log(`  stats, closed loop: ${n(cached.rps)} req/s, p50 ${ms(cached.p50)} ms, p99 ${ms(cached.p99)} ms`);
  const cold = [];
  for (let i = 0; i < COLD_STATS_CALLS; i++) {
    await sleep(STATS_IDLE_MS);
    const started = performance.now();
    await getJson(options.port, auth, pathOf('/stats/', {}));
    cold.push(performance.now() - started);
  }
  log(`  stats, cold (after ${STATS_IDLE_MS / 1000} s idle): ${cold.map(ms).join(', ')} ms`);
  return { cached, cold, byProvider: stats.by_provider };
}

/**
 * Streams GET /export/ as fast as this process reads: lines, bytes, time to the first byte and to
 * the end, the service's RSS (VmRSS sampled every 100 ms, VmHWM before and after) and the CPU time
 * of the service and of the PostgreSQL backends meanwhile. Checks the line count and the ends.
 */
async function measureExport(ctx) {
  const { options, auth, service } = ctx;
  const pid = service.child.pid;
  const rssBefore = readStatusKb(pid, 'VmRSS') / 1024;
  const hwmBefore = readStatusKb(pid, 'VmHWM') / 1024;
  let peakKb = 0;
  const sampler = setInterval(() => (peakKb = Math.max(peakKb, readStatusKb(pid, 'VmRSS'))), 100);
  const dbBefore = cpuOf(await ctx.backends());
  let dbAfter = new Map();
  // The export's connection is open only while it runs: read its backend's CPU then.
  const backendTimer = setInterval(async () => {
    for (const [p, cpu] of cpuOf(await ctx.backends())) dbAfter.set(p, cpu);
  }, 500);
  const cpuBefore = cpuMs(pid);
  const started = performance.now();
  const result = await new Promise((done, fail) => {
    const request = http.get(
      { host: '127.0.0.1', port: options.port, path: `${BASE}/export/`, headers: { authorization: auth } },
      (response) => {
        const firstByte = { at: undefined };
        let lines = 0;
        let bytes = 0;
        let head = '';
        let tail = Buffer.alloc(0);
        response.on('data', (chunk) => {
          firstByte.at ??= performance.now();
          bytes += chunk.length;
          for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) lines++;
          if (head.length < 2048) head += chunk.toString('utf8', 0, Math.min(chunk.length, 2048));
          tail =
            chunk.length >= 2048 ? chunk.subarray(chunk.length - 2048) : Buffer.concat([tail, chunk]).subarray(-2048);
        });
        response.on('end', () =>
          done({
            status: response.statusCode,
            contentType: response.headers['content-type'],
            lines,
            bytes,
            firstByteMs: firstByte.at - started,
            seconds: (performance.now() - started) / 1000,
            first: head.split('\n')[0],
            last: tail.toString('utf8').trimEnd().split('\n').at(-1),
          }),
        );
        response.on('error', fail);
      },
    );
    request.on('error', fail);
  });
  clearInterval(sampler);
  clearInterval(backendTimer);
  const cpu = cpuMs(pid) - cpuBefore;
  for (const [p, c] of cpuOf(await ctx.backends())) dbAfter.set(p, c);
  const dbCpu = cpuSince(dbBefore, dbAfter);
  const peakRssMb = Math.max(peakKb, readStatusKb(pid, 'VmRSS')) / 1024;
  const hwmAfter = readStatusKb(pid, 'VmHWM') / 1024;
  if (result.status !== 200) throw new Error(`export: status ${result.status}`);
  if (result.lines !== options.associations) {
    throw new Error(`export: ${n(result.lines)} lines, expected ${n(options.associations)}`);
  }
  const first = JSON.parse(result.first);
  const last = JSON.parse(result.last);
  if (first.ext_id !== `ext-${options.associations}` || last.ext_id !== 'ext-1') {
    throw new Error(`export: first line ${first.ext_id}, last ${last.ext_id}; expected newest first`);
  }
  return { ...result, rssBefore, hwmBefore, peakRssMb, hwmAfter, cpu, dbCpu };
}

// ------------------------------------------------------------------ the section

function section(options, facts, { date, searches, stats, exported, firstPage }) {
  const { machine: m, loadBefore, loadAfter, versions: v } = facts;
  const loads = (l) => l.map((x) => x.toFixed(2)).join(' ');
  const searchRows = searches.map(
    ({ item, check, result: r, plan, load1 }) =>
      `| ${item.title} | ${item.matches} | ${check.min === check.max ? check.min : `${check.min}-${check.max}`} | ${n(r.rps)} | ${ms(r.p50)} | ${ms(r.p99)} | ${errorsOf(r)} | ${r.cpuPerReq.toFixed(2)} + ${r.dbCpuPerReq.toFixed(2)} | ${plan ? `${plan.scans}; ${plan.executionMs.toFixed(2)} ms` : '-'} | ${load1.toFixed(1)} |`,
  );
  const e = exported;
  return [
    '## Admin directory at 1M associations: search, stats, export',
    '',
    `- date: ${date.toISOString()}`,
    `- machine: ${m.cores} cores, ${m.cpu}, ${m.ramGiB.toFixed(0)} GiB RAM, ${m.system}; load average before the run ${loads(loadBefore)}, after ${loads(loadAfter)} (1/5/15 min; shared with other work)`,
    `- versions: Node ${v.node}, PostgreSQL ${facts.postgres}, @nestjs/core ${v['@nestjs/core']}, fastify ${v.fastify}, typeorm ${v.typeorm}, pg ${v.pg}, autocannon ${v.autocannon}`,
    `- code: ${facts.code}`,
    `- service: \`node dist/src/main.js\` (NODE_ENV=production, LOG_LEVEL=warn, RATE_LIMIT_PER_MINUTE=0, a pool of 10 PostgreSQL connections, other settings at their defaults: statement timeout 3 s), on 127.0.0.1; an admin's HS256 token`,
    `- data: ${n(options.users)} users, ${n(options.associations)} associations (SQL generate_series): row n is \`ext-<n>\` of one of 5 providers (n mod 5), held by user 1 + (n mod ${n(options.users)}), created 2025-01-01 + (n - 1) x 1 year / ${n(options.associations)} (id order is time order); users.association_count recounted, VACUUM ANALYZE`,
    `- command: \`${options.serviceRoot === ROOT ? '' : `BENCH_SERVICE_ROOT=${options.serviceRoot} BENCH_CODE_LABEL=... `}npm run bench:directory\` (bench/directory.mjs)${options.serviceRoot === ROOT ? '' : `: the service built and run from ${options.serviceRoot}`}`,
    '',
    `Search, \`GET ${BASE}/\` (default page of 50): autocannon, ${options.connections} connections, closed loop, ${options.duration} s per filter after a ${options.warmup} s warm-up; the filter's values rotate per request where the table says so. Each filter was first checked on 5 requests (200, rows on the page).`,
    '',
    '| filter | rows it matches | rows on page | req/s | p50 ms | p99 ms | errors (not 200) | CPU ms/req (service + PostgreSQL) | plan of one request (EXPLAIN ANALYZE, outside the service) | load 1 min |',
    '| --- | --- | ---: | ---: | ---: | ---: | --- | ---: | --- | ---: |',
    ...searchRows,
    '',
    `The second page's cursor is the \`next\` of the first page without a filter (${firstPage.results.length} rows, next \`${firstPage.next}\`).`,
    '',
    `Stats, \`GET ${BASE}/stats/\` (exact counts, recounted at most every 5 s; by provider ${Object.entries(
      stats.byProvider,
    )
      .map(([p, c]) => `${p} ${n(c)}`)
      .join(', ')}):`,
    '',
    '| stats | calls | req/s | p50 ms | p99 ms | max ms | errors (not 200) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | --- |',
    `| closed loop, ${options.connections} connections, ${options.duration} s (cached, with a recount every 5 s) | ${n(stats.cached.completed)} | ${n(stats.cached.rps)} | ${ms(stats.cached.p50)} | ${ms(stats.cached.p99)} | ${ms(stats.cached.max)} | ${errorsOf(stats.cached)} |`,
    `| cold: the first call after ${STATS_IDLE_MS / 1000} s idle (a recount), one at a time: ${stats.cold.map(ms).join(', ')} ms | ${COLD_STATS_CALLS} | - | ${ms(stats.cold.toSorted((x, y) => x - y)[Math.floor(COLD_STATS_CALLS / 2)])} | - | ${ms(Math.max(...stats.cold))} | 0 |`,
    '',
    `Export, \`GET ${BASE}/export/\` (no filter, every row), one client (\`node:http\`) reading as fast as it can:`,
    '',
    '| lines | bytes | wall time | rows/s | MiB/s | first byte | service CPU / 1k rows | PostgreSQL CPU / 1k rows | service RSS before | peak RSS (sampled, 100 ms) | VmHWM before / after |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    `| ${n(e.lines)} | ${n(e.bytes)} (${(e.bytes / 2 ** 20).toFixed(0)} MiB) | ${e.seconds.toFixed(1)} s | ${n(e.lines / e.seconds)} | ${(e.bytes / 2 ** 20 / e.seconds).toFixed(1)} | ${ms(e.firstByteMs)} ms | ${((e.cpu / e.lines) * 1000).toFixed(0)} ms | ${((e.dbCpu / e.lines) * 1000).toFixed(0)} ms | ${e.rssBefore.toFixed(0)} MB | ${e.peakRssMb.toFixed(0)} MB | ${e.hwmBefore.toFixed(0)} / ${e.hwmAfter.toFixed(0)} MB |`,
    '',
    `Checked: status 200, \`${e.contentType}\`, ${n(e.lines)} lines (= the associations), newest first (\`ext-${options.associations}\` first, \`ext-1\` last). VmHWM is the process's lifetime high-water mark (the searches before count too); the sampled peak is the export's own.`,
  ].join('\n');
}

// ------------------------------------------------------------------ the run

async function timed(label, work) {
  const started = Date.now();
  const result = await work();
  log(`  ${label} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  return result;
}

async function prepareDatabase(options, processes, { databaseUrl, secret }) {
  const expected = {
    users: options.users,
    associations: options.associations,
    counted: options.associations,
    admins: 1,
  };
  if (options.reuseDb) {
    const found = await counts(databaseUrl).catch(() => undefined);
    if (found && Object.keys(expected).every((k) => found[k] === expected[k])) {
      log(`reusing ${options.database} (BENCH_REUSE_DB=1)`);
      const client = new pg.Client({ connectionString: options.server });
      await client.connect();
      const { rows } = await client.query('SHOW server_version');
      await client.end();
      return rows[0].server_version;
    }
  }
  log(`creating ${options.database}`);
  const postgres = await recreateDatabase(options.server, options.database);
  log('running the migrations');
  await runMigrations(processes, { serviceRoot: options.serviceRoot, databaseUrl, secret });
  log(`seeding ${n(options.users)} users and ${n(options.associations)} associations`);
  await seed(databaseUrl, options);
  const found = await counts(databaseUrl);
  if (!Object.keys(expected).every((k) => found[k] === expected[k])) {
    throw new Error(`seeded ${JSON.stringify(found)}, expected ${JSON.stringify(expected)}`);
  }
  return postgres;
}

async function main(options, processes, admin) {
  mkdirSync(WORK, { recursive: true });
  const loadBefore = loadAverage();
  log(`load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')}`);
  const secret = randomBytes(36).toString('base64url');
  const databaseUrl = withDatabase(options.server, options.database);
  await assertPortFree(options.port);
  if (!options.skipBuild) {
    log('building the service (npm run build)');
    await buildService(processes, options.serviceRoot);
  }
  const postgres = await prepareDatabase(options, processes, { databaseUrl, secret });

  const env = serverEnv({
    port: options.port,
    secret,
    logLevel: 'warn',
    database: { url: databaseUrl, poolSize: 10 },
    extra: { RATE_LIMIT_PER_MINUTE: '0' },
  });
  const service = startServer(processes, {
    name: 'directory-service',
    script: serviceScript(options.serviceRoot),
    cwd: options.serviceRoot,
    port: options.port,
    env,
  });
  await waitReady(service);
  const ctx = {
    options,
    service,
    auth: `Bearer ${signAccessToken(1, secret)}`,
    backends: () => postgresBackends(admin, options.database),
  };

  const plans = new pg.Client({ connectionString: databaseUrl });
  await plans.connect();
  const searchSql = loadSearchSql(options.serviceRoot);
  const firstPage = await getJson(options.port, ctx.auth, pathOf('/', {}));
  if (!firstPage.next) throw new Error('the first page has no next');
  const searches = [];
  log(`search, ${options.connections} connections, ${options.duration} s each`);
  for (const item of searchCases(options, firstPage)) {
    const check = await checkCase(options.port, ctx.auth, item);
    if (options.warmup) await load(ctx, () => pathOf('/', item.query()), options.warmup);
    const load1 = loadAverage()[0];
    const result = await load(ctx, () => pathOf('/', item.query()), options.duration);
    const plan = await explain(plans, searchSql, item);
    searches.push({ item, check, result, plan, load1 });
    log(
      `  ${item.title.padEnd(44)} ${n(result.rps).padStart(6)} req/s  p50 ${ms(result.p50).padStart(7)} ms  p99 ${ms(result.p99).padStart(7)} ms  errors ${errorsOf(result)}  ${plan ? `plan ${plan.scans} ${plan.executionMs.toFixed(2)} ms` : ''}`,
    );
  }
  await plans.end();

  log('stats');
  const stats = await measureStats(ctx);
  log('export');
  const exported = await measureExport(ctx);
  log(
    `  ${n(exported.lines)} lines, ${n(exported.bytes)} bytes in ${exported.seconds.toFixed(1)} s: ${n(exported.lines / exported.seconds)} rows/s, peak RSS ${exported.peakRssMb.toFixed(0)} MB`,
  );
  await processes.stop(service.child);

  const facts = {
    machine: machine(),
    loadBefore,
    loadAfter: loadAverage(),
    postgres,
    code: await codeLabel(options.serviceRoot, options.codeLabel),
    versions: versions(ROOT, ['@nestjs/core', 'fastify', 'typeorm', 'pg', 'autocannon']),
  };
  const body = section(options, facts, { date: new Date(), searches, stats, exported, firstPage });
  log(`\n${body}`);
  if (writeSections(options.output, { directory: body })) log(`\nwrote ${options.output}`);
}

async function dropDatabase(options) {
  if (options.keepDb) return;
  const client = new pg.Client({ connectionString: options.server });
  await client.connect();
  await client.query(`DROP DATABASE IF EXISTS ${options.database} WITH (FORCE)`);
  await client.end();
}

function start() {
  let options;
  try {
    options = readOptions();
  } catch (error) {
    process.stderr.write(`bench:directory: ${error.message}\n`);
    process.exit(2);
  }
  const processes = new Processes(WORK, { log, oneShot: ['build', 'migrations'] });
  const admin = new pg.Client({ connectionString: options.server });
  let finished = false;
  const finish = async (code) => {
    if (finished) return;
    finished = true;
    await processes.stopAll();
    await admin.end().catch(() => {});
    await dropDatabase(options).catch((error) => log(`could not drop ${options.database}: ${error.message}`));
    process.exit(code);
  };
  process.on('SIGINT', () => void finish(130));
  process.on('SIGTERM', () => void finish(143));
  setTimeout(() => {
    log(`bench:directory: gave up after ${options.timeoutSeconds} s (BENCH_TIMEOUT)`);
    void finish(1);
  }, options.timeoutSeconds * 1000).unref();
  admin
    .connect()
    .then(() => main(options, processes, admin))
    .then(
      () => finish(0),
      (error) => {
        process.stderr.write(`bench:directory failed: ${error?.stack ?? error}\n`);
        void finish(1);
      },
    );
}

start();
