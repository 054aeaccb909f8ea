// `npm run bench:webhooks`: signed webhook delivery (issue #13) against the built service on a scratch
// PostgreSQL database, with a fast receiver in this process:
//   1. the write path, (b) POST + DELETE and (c) DELETE missing, with no endpoint and with 2 subscribed
//      endpoints, alternating, several rounds (closed loop, autocannon): is the write path slowed?
//   2. delivery throughput: a backlog of events (real creates, written by SQL the way the service writes
//      them: association, count and audit row in one statement) sent to 1 endpoint: events/s;
//   3. the time from commit to delivery: creates over HTTP at a fixed rate, 1 endpoint; for each, the
//      time from its 201 (sent after the commit) to the receiver's arrival: p50, p99.
// See bench/README.md. Options (environment, or --name=value for BENCH_NAME): DATABASE (server,
// default postgres://postgres@127.0.0.1:5432/postgres), BENCH_WEBHOOKS_DB (sa_bench_webhooks),
// BENCH_USERS (2000), BENCH_DURATION (8 s per run), BENCH_ROUNDS (3), BENCH_CONNECTIONS (16),
// BENCH_EVENTS (20000), BENCH_RATE (100 creates/s), BENCH_LATENCY_SECONDS (20), BENCH_SKIP_BUILD=1,
// BENCH_PHASES (write,rate,latency), BENCH_KEEP_DB=1, BENCH_OUTPUT (bench/RESULTS.md; - for none).
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { drive, runTags } from './drive.mjs';
import { cpuReferenceMs, loadAverage, machine, versions } from './facts.mjs';
import { combine, cpuOf, Latencies } from './measure.mjs';
import { databaseName, positiveInt, scriptSource } from './options.mjs';
import {
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
import { makeTokens, signAccessToken } from './workloads.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const WORK = join(ROOT, 'bench', '.work');
const PORT = 3911;
const log = (line) => process.stdout.write(`${line}\n`);
const n = (value) => Math.round(value).toLocaleString('en-US');
const ms = (value) => value.toFixed(1);

function readOptions() {
  const source = scriptSource();
  const int = (name, fallback) => positiveInt(source, name, fallback);
  return Object.freeze({
    server: source.DATABASE ?? source.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    database: databaseName(source, 'BENCH_WEBHOOKS_DB', 'sa_bench_webhooks'),
    users: int('BENCH_USERS', 2000),
    seconds: int('BENCH_DURATION', 8),
    rounds: int('BENCH_ROUNDS', 3),
    connections: int('BENCH_CONNECTIONS', 16),
    events: int('BENCH_EVENTS', 20_000),
    rate: int('BENCH_RATE', 100),
    latencySeconds: int('BENCH_LATENCY_SECONDS', 20),
    phases: new Set((source.BENCH_PHASES ?? 'write,rate,latency').split(',')),
    skipBuild: source.BENCH_SKIP_BUILD === '1',
    keepDb: source.BENCH_KEEP_DB === '1',
    output: source.BENCH_OUTPUT ?? join(ROOT, 'bench', 'RESULTS.md'),
  });
}

/** The receiver: answers 204 at once, and notes when each event (webhook-id) first arrived and its request id. */
async function startReceiver() {
  const firstArrival = new Map();
  const byRequestId = new Map();
  let requests = 0;
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      requests++;
      const now = performance.now();
      const id = String(req.headers['webhook-id']);
      if (!firstArrival.has(id)) {
        firstArrival.set(id, now);
        const requestId = JSON.parse(Buffer.concat(chunks).toString('utf8')).data.request_id;
        if (requestId) byRequestId.set(requestId, now);
      }
      res.writeHead(204).end();
    });
  });
  await new Promise((done) => server.listen(0, '127.0.0.1', done));
  return {
    url: (path) => `http://127.0.0.1:${server.address().port}${path}`,
    firstArrival,
    byRequestId,
    requests: () => requests,
    close: () => new Promise((done) => server.close(done)),
  };
}

async function api(method, path, token, body) {
  const response = await fetch(`http://127.0.0.1:${PORT}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** Exactly `count` endpoints, all to the receiver. */
async function setEndpoints(adminToken, receiver, count) {
  for (const endpoint of await api('GET', '/api/v2/webhooks/', adminToken)) {
    await api('DELETE', `/api/v2/webhooks/${endpoint.id}/`, adminToken);
  }
  for (let i = 0; i < count; i++) {
    await api('POST', '/api/v2/webhooks/', adminToken, { url: receiver.url(`/hooks/${i}`), description: `bench ${i}` });
  }
}

/** Waits until no stream has an event left to send (bounded). */
async function drained(db, timeoutMs = 300_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [{ pending }] = (
      await db.query(
        `SELECT (SELECT count(*) FROM webhook_streams WHERE pending_through > delivered_through)
              + (SELECT count(*) FROM webhook_replays) AS pending`,
      )
    ).rows;
    const [{ behind }] = (
      await db.query(
        `SELECT horizon < pg_snapshot_xmin(pg_current_snapshot())::text::bigint - 1 AS behind FROM webhook_dispatch`,
      )
    ).rows;
    if (Number(pending) === 0 && !behind) return;
    if (Date.now() > deadline)
      throw new Error(`delivery did not drain in ${timeoutMs} ms (${pending} streams pending)`);
    await sleep(100);
  }
}

/** Phase 1: (b) and (c) with 0 and 2 endpoints, alternating, `rounds` times. */
async function writePath(options, ctx) {
  log('write path: (b) and (c), without and with 2 endpoints');
  const runs = { b: { 0: [], 2: [] }, c: { 0: [], 2: [] } };
  for (let round = 1; round <= options.rounds; round++) {
    for (const subscribers of [0, 2]) {
      await setEndpoints(ctx.adminToken, ctx.receiver, subscribers);
      for (const workload of ['b', 'c']) {
        const run = await drive(ctx.server, workload, {
          seconds: options.seconds,
          connections: options.connections,
          tokens: ctx.tokens,
          tag: ctx.tag(),
          backendCpu: ctx.backendCpu,
        });
        runs[workload][subscribers].push(run);
        log(
          `  round ${round}, ${subscribers} endpoints, (${workload}): ${n(run.rps)} req/s, p50 ${ms(run.p50)} ms, p99 ${ms(run.p99)} ms, unexpected ${run.unexpected}`,
        );
        // The deliveries of this run finish, and the tables it wrote are vacuumed, before the next run
        // starts: no run pays for another's deliveries or for the autovacuum they would set off.
        await drained(ctx.db);
        await ctx.db.query(
          'VACUUM (ANALYZE) webhook_streams, webhook_deliveries, audit_events, social_associations, users',
        );
      }
    }
  }
  return runs;
}

/** Phase 2: a backlog of `events` creates (by SQL, 1 per user in turn), then the time until the receiver has them all. */
async function throughput(options, ctx) {
  log('delivery rate');
  await setEndpoints(ctx.adminToken, ctx.receiver, 1);
  await sleep(1500); // the endpoint's registration is older than the events
  ctx.receiver.firstArrival.clear();
  const users = options.users - 1;
  const started = performance.now();
  await ctx.db.query(
    `WITH lines AS (
       SELECT g, 2 + (g % $2) AS user_id FROM generate_series(1, $1::int) AS g
     ), slot AS (
       UPDATE users u SET association_count = association_count + c.n
         FROM (SELECT user_id, count(*)::int AS n FROM lines GROUP BY user_id) c WHERE u.id = c.user_id
       RETURNING u.id
     ), inserted AS (
       INSERT INTO social_associations (user_id, provider, ext_id, profile_url, metadata, show_in_profile)
       SELECT l.user_id, 'bench', 'backlog-' || l.g || '-' || $3, NULL, NULL, false FROM lines l ORDER BY l.g
       RETURNING user_id, provider, ext_id
     )
     INSERT INTO audit_events (actor_user_id, action, target_user_id, provider, ext_id, request_id)
     SELECT NULL, 'social_association.created', user_id, provider, ext_id, NULL FROM inserted
      WHERE EXISTS (SELECT 1 FROM slot)`,
    [options.events, users, ctx.tag()],
  );
  const committed = performance.now();
  const deadline = Date.now() + 600_000;
  while (ctx.receiver.firstArrival.size < options.events) {
    if (Date.now() > deadline) throw new Error(`throughput: ${ctx.receiver.firstArrival.size} of ${options.events}`);
    await sleep(20);
  }
  const done = performance.now();
  const last = Math.max(...ctx.receiver.firstArrival.values());
  await drained(ctx.db);
  log(`  ${n(options.events / ((last - committed) / 1000))} events/s`);
  return {
    events: options.events,
    users,
    seconds: (done - committed) / 1000,
    perSecond: options.events / ((last - committed) / 1000),
    commitMs: committed - started,
  };
}

/** Phase 3: creates over HTTP at `rate`/s for `latencySeconds`; from each 201 to the receiver's arrival. */
async function latency(options, ctx) {
  log('commit to delivery');
  await setEndpoints(ctx.adminToken, ctx.receiver, 1);
  await sleep(1500);
  const answered = new Map();
  const total = options.rate * options.latencySeconds;
  const interval = 1000 / options.rate;
  const start = performance.now();
  const pending = [];
  for (let i = 0; i < total; i++) {
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const token = ctx.tokens[i % ctx.tokens.length];
    const requestId = `latency-${ctx.tag()}-${i}`;
    pending.push(
      fetch(`http://127.0.0.1:${PORT}/api/v2/user/${token.id}/provider/`, {
        method: 'POST',
        headers: { authorization: token.auth, 'content-type': 'application/json', 'x-request-id': requestId },
        body: JSON.stringify({ provider: 'bench', ext_id: requestId }),
      }).then(async (response) => {
        await response.text();
        if (response.status === 201) answered.set(requestId, performance.now());
      }),
    );
  }
  await Promise.all(pending);
  const deadline = Date.now() + 60_000;
  while ([...answered.keys()].some((id) => !ctx.receiver.byRequestId.has(id))) {
    if (Date.now() > deadline) throw new Error('latency: not every event arrived');
    await sleep(20);
  }
  const latencies = new Latencies();
  for (const [id, at] of answered) latencies.push(Math.max(0, ctx.receiver.byRequestId.get(id) - at));
  const result = { sent: total, answered: answered.size, ...Latencies.percentiles([latencies]) };
  log(`  p50 ${ms(result.p50)} ms, p99 ${ms(result.p99)} ms`);
  return result;
}

function section(options, facts, { runs, rate, delay }) {
  const row = (workload, subscribers) => {
    const c = combine(runs[workload][subscribers]);
    const each = runs[workload][subscribers].map((r) => n(r.rps)).join(' / ');
    const cpu = runs[workload][subscribers].reduce((sum, r) => sum + r.cpu + r.dbCpu, 0) / c.completed;
    return `| (${workload}) | ${subscribers} | ${n(c.rps)} | ${each} | ${ms(c.p50)} | ${ms(c.p99)} | ${cpu.toFixed(2)} | ${c.unexpected} |`;
  };
  return [
    '## Webhooks: the write path with and without subscribers, delivery rate, commit to delivery',
    '',
    `- date: ${facts.date}`,
    `- machine: ${facts.machine.cores} cores, ${facts.machine.cpu}; load average before the run ${facts.loadBefore.map((l) => l.toFixed(2)).join(' ')}; one core's speed (bench/facts.mjs cpuReferenceMs) ${facts.cpuBefore.toFixed(0)} ms before, ${facts.cpuAfter.toFixed(0)} ms after`,
    `- versions: Node ${facts.versions.node}, PostgreSQL ${facts.postgres}, pg ${facts.versions.pg}, autocannon ${facts.versions.autocannon}`,
    `- service: \`node dist/src/main.js\` (NODE_ENV=production, LOG_LEVEL=warn, RATE_LIMIT_PER_MINUTE=0, WEBHOOKS_ALLOW_PRIVATE_NETWORKS=true, pool of 10), ${n(options.users)} users; the receiver: a node:http server in the bench process answering 204 at once, on 127.0.0.1`,
    '',
    `Write path: autocannon, ${options.connections} connections, ${options.seconds} s per run, ${options.rounds} rounds alternating no endpoint and 2 endpoints (every event of the run sent twice); each run starts once the deliveries of the one before have all been sent and the tables they wrote vacuumed. CPU per request: the service and its PostgreSQL backends.`,
    '',
    '| workload | endpoints | req/s (all rounds) | req/s per round | p50 ms | p99 ms | CPU ms/req | unexpected |',
    '| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: |',
    row('b', 0),
    row('b', 2),
    row('c', 0),
    row('c', 2),
    '',
    `Delivery rate: ${n(rate.events)} events (creates over ${n(rate.users)} users, written by one SQL statement the way the service writes them), 1 endpoint: all received ${rate.seconds.toFixed(1)} s after the commit, **${n(rate.perSecond)} events/s**.`,
    '',
    `Commit to delivery: ${n(delay.sent)} creates over HTTP at ${options.rate}/s for ${options.latencySeconds} s, 1 endpoint; from each 201 to the receiver's first arrival of its event: **p50 ${ms(delay.p50)} ms, p99 ${ms(delay.p99)} ms**, max ${ms(delay.max)} ms (${n(delay.answered)} answered 201).`,
  ].join('\n');
}

async function main() {
  const options = readOptions();
  const processes = new Processes(WORK, { log, oneShot: ['build', 'migrations'] });
  const secret = randomBytes(36).toString('base64url');
  const databaseUrl = withDatabase(options.server, options.database);
  const loadBefore = loadAverage();
  const cpuBefore = cpuReferenceMs();
  const receiver = await startReceiver();
  const admin = new pg.Client({ connectionString: options.server });
  const db = new pg.Client({ connectionString: databaseUrl });
  try {
    if (!options.skipBuild) {
      log('building');
      await buildService(processes, ROOT);
    }
    log(`creating ${options.database}`);
    const postgres = await recreateDatabase(options.server, options.database);
    await runMigrations(processes, { serviceRoot: ROOT, databaseUrl, secret });
    await seedUsers(databaseUrl, { users: options.users, admins: 1 }, log);
    await admin.connect();
    await db.connect();
    const env = serverEnv({
      port: PORT,
      secret,
      logLevel: 'warn',
      database: { url: databaseUrl, poolSize: 10 },
      extra: { RATE_LIMIT_PER_MINUTE: '0', WEBHOOKS_ALLOW_PRIVATE_NETWORKS: 'true' },
    });
    const server = startServer(processes, { name: 'service', script: serviceScript(ROOT), cwd: ROOT, port: PORT, env });
    await waitReady(server);
    const userIds = Array.from({ length: options.users - 1 }, (_, i) => i + 2);
    const ctx = {
      server,
      db,
      receiver,
      tokens: makeTokens(userIds, secret),
      adminToken: signAccessToken(1, secret),
      tag: runTags(),
      backendCpu: async () => cpuOf(await postgresBackends(admin, options.database)),
    };
    const runs = options.phases.has('write') ? await writePath(options, ctx) : null;
    const rate = options.phases.has('rate') ? await throughput(options, ctx) : null;
    const delay = options.phases.has('latency') ? await latency(options, ctx) : null;
    if (!runs || !rate || !delay) {
      log('(some phases left out by BENCH_PHASES: no results written)');
      return;
    }
    await processes.stopAll();
    const facts = {
      date: new Date().toISOString(),
      machine: machine(),
      loadBefore,
      cpuBefore,
      cpuAfter: cpuReferenceMs(),
      postgres,
      versions: versions(ROOT, ['pg', 'autocannon']),
    };
    const body = section(options, facts, { runs, rate, delay });
    log(`\n${body}`);
    if (writeSections(options.output, { webhooks: body })) log(`\nwrote ${options.output}`);
  } finally {
    await processes.stopAll();
    await receiver.close();
    await db.end().catch(() => {});
    if (!options.keepDb) {
      await admin.query(`DROP DATABASE IF EXISTS ${options.database} WITH (FORCE)`).catch(() => {});
    }
    await admin.end().catch(() => {});
  }
}

await main();
