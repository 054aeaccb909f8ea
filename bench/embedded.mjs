// `npm run bench:embedded`: the service on its embedded PostgreSQL (no DATABASE_URL), alone, by
// itself: how long it takes to start, how much memory it holds idle and under load, how fast it
// answers the list route, and what kill -9 does to writes it has answered. See bench/README.md.
import autocannon from 'autocannon';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { cpuMs, Latencies, readStatusKb, rssSampler } from './measure.mjs';
import { Processes, waitReady } from './processes.mjs';
import { writeSections } from './results-file.mjs';
import { drivenUsers, seedAssociations, seedUsers } from './seed.mjs';
import { buildRequests, makeTokens } from './workloads.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const WORK = join(ROOT, 'bench', '.work');
const FOLDER = join(WORK, 'embedded-db');

const int = (name, fallback) => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, got ${raw}`);
  return value;
};
const opt = {
  users: int('BENCH_USERS', 10_000),
  associations: int('BENCH_ASSOCIATIONS', 20_000),
  tokenUsers: int('BENCH_TOKEN_USERS', 1_000),
  duration: int('BENCH_DURATION', 10),
  warmup: int('BENCH_WARMUP', 3),
  connections: int('BENCH_CONNECTIONS', 50),
  killRounds: int('BENCH_KILL_ROUNDS', 3),
  /** How long the creates run before the process is killed, in ms. */
  killAfterMs: int('BENCH_KILL_AFTER_MS', 2000),
  build: process.env.BENCH_SKIP_BUILD !== '1',
  port: int('BENCH_SERVICE_PORT', 3900),
  output: process.env.BENCH_OUTPUT ?? join(ROOT, 'bench', 'RESULTS.md'),
};

const log = (line) => process.stdout.write(`${line}\n`);
const processes = new Processes(WORK, { log, oneShot: ['build'] });
const secret = randomBytes(36).toString('base64url');
const socketUrl = `postgresql://postgres@localhost/postgres?host=${encodeURIComponent(FOLDER)}`;
const mb = (kb) => Math.round(kb / 1024);
/** One section per Node major version, so runs on Node 20 and 24 stand side by side. */
const NODE_MAJOR = process.versions.node.split('.')[0];
let serial = 0;

/** Starts the built service on FOLDER; resolves once /health/ready answers, with the time that took. */
async function startService() {
  const started = performance.now();
  const child = processes.start(`embedded-service-${++serial}`, [join(ROOT, 'dist', 'src', 'main.js')], {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    JWT_SECRET: secret,
    HOST: '127.0.0.1',
    PORT: String(opt.port),
    DATABASE_PATH: FOLDER,
    RATE_LIMIT_PER_MINUTE: '0',
  });
  await waitReady({ name: 'service', port: opt.port, child }, 120_000);
  return { child, startMs: performance.now() - started };
}

async function idleRssMb(child) {
  await sleep(2000);
  return mb(readStatusKb(child.pid, 'VmRSS'));
}

async function listRoute(child, tokens, seconds) {
  const stats = { expected: 0, unexpected: {} };
  const latencies = new Latencies();
  const sampler = rssSampler(child.pid);
  const cpuBefore = cpuMs(child.pid);
  const instance = autocannon({
    url: `http://127.0.0.1:${opt.port}`,
    connections: opt.connections,
    duration: seconds,
    timeout: 10,
    requests: buildRequests('a', tokens, stats, `embedded-${serial}`),
  });
  instance.on('response', (_client, _status, _bytes, ms) => latencies.push(ms));
  const result = await instance;
  const unexpected = Object.values(stats.unexpected).reduce((n, c) => n + c, 0);
  return {
    rps: latencies.length / result.duration,
    ...Latencies.percentiles([latencies]),
    peakRssMb: Math.round(sampler.stop()),
    cpuPerRequest: (cpuMs(child.pid) - cpuBefore) / latencies.length,
    errors: unexpected + result.errors + result.timeouts,
  };
}

/**
 * Creates identities from 16 clients as fast as the service answers, kills it with SIGKILL after
 * opt.killAfterMs, starts it again and counts which answered creates are stored, with their audit event.
 */
async function killRound(tokens) {
  const { child } = await startService();
  const answered = [];
  let killed = false;
  const tag = randomBytes(4).toString('hex');
  const clients = Array.from({ length: 16 }, async (_, client) => {
    for (let n = 0; !killed; n++) {
      const token = tokens[(client + n * 16) % tokens.length];
      const extId = `kill-${tag}-${client}-${n}`;
      try {
        const response = await fetch(`http://127.0.0.1:${opt.port}/api/v2/user/${token.id}/provider/`, {
          method: 'POST',
          headers: { authorization: token.auth, 'content-type': 'application/json' },
          body: JSON.stringify({ provider: 'github', ext_id: extId }),
        });
        await response.arrayBuffer();
        if (response.status === 201) answered.push(extId);
      } catch {
        // the connection died with the process
      }
    }
  });
  await sleep(opt.killAfterMs);
  child.stopRequested = true;
  child.kill('SIGKILL');
  killed = true;
  await new Promise((done) => (child.exited ? done() : child.once('exit', done)));
  await Promise.all(clients);

  const restarted = await startService();
  const client = new pg.Client({ connectionString: socketUrl });
  await client.connect();
  const { rows } = await client.query(
    `SELECT a.ext_id FROM social_associations a
       JOIN audit_events e ON e.ext_id = a.ext_id AND e.provider = a.provider AND e.action = 'social_association.created'
      WHERE a.ext_id LIKE $1`,
    [`kill-${tag}-%`],
  );
  await client.end();
  await processes.stop(restarted.child);
  const stored = new Set(rows.map((row) => row.ext_id));
  return {
    answered: answered.length,
    lost: answered.filter((extId) => !stored.has(extId)).length,
    // Committed while its answer was still on the way when the process died.
    unanswered: stored.size - answered.filter((extId) => stored.has(extId)).length,
    restartMs: restarted.startMs,
  };
}

function versionOf(pkg) {
  try {
    return JSON.parse(readFileSync(join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')).version;
  } catch {
    return '?';
  }
}

async function main() {
  const load = os.loadavg();
  if (opt.build) {
    log('building the service (nest build)');
    await processes.run(
      'build',
      [join(ROOT, 'node_modules', '@nestjs', 'cli', 'bin', 'nest.js'), 'build'],
      {},
      300_000,
      ROOT,
    );
  }
  rmSync(FOLDER, { recursive: true, force: true });

  log('start-up on a new folder (initialises the database, then migrates it)');
  const fresh = await startService();
  const freshIdle = await idleRssMb(fresh.child);
  await processes.stop(fresh.child);
  log(`  ${Math.round(fresh.startMs)} ms to ready; idle RSS ${freshIdle} MB`);

  log('start-up on that folder again');
  const again = await startService();
  const idle = await idleRssMb(again.child);
  log(`  ${Math.round(again.startMs)} ms to ready; idle RSS ${idle} MB`);

  log(`seeding ${opt.users} users and ${opt.associations} associations through the service's socket`);
  const driven = drivenUsers({ users: opt.users, admins: 5, tokenUsers: opt.tokenUsers });
  await seedUsers(socketUrl, { users: opt.users, admins: 5 }, log);
  await seedAssociations(socketUrl, { users: opt.users, total: opt.associations, perDrivenUser: 2, driven }, log);
  const tokens = makeTokens(driven.ids, secret);

  log(`(a) GET own list: ${opt.warmup} s warm-up, then ${opt.duration} s, ${opt.connections} connections`);
  if (opt.warmup > 0) await listRoute(again.child, tokens, opt.warmup);
  const list = await listRoute(again.child, tokens, opt.duration);
  const idleAfter = await idleRssMb(again.child);
  log(
    `  ${Math.round(list.rps)} req/s, p50 ${list.p50.toFixed(2)} ms, p99 ${list.p99.toFixed(2)} ms, ` +
      `peak RSS ${list.peakRssMb} MB, ${list.errors} errors`,
  );
  await processes.stop(again.child);

  const kills = [];
  for (let round = 1; round <= opt.killRounds; round++) {
    const result = await killRound(tokens);
    kills.push(result);
    log(
      `kill -9 round ${round}: ${result.answered} creates answered 201, ${result.lost} of them lost, ` +
        `${result.unanswered} committed but unanswered; restarted in ${Math.round(result.restartMs)} ms`,
    );
  }

  const body = [
    `## Embedded PostgreSQL (PGlite), Node ${NODE_MAJOR}`,
    '',
    `- date: ${new Date().toISOString()}`,
    `- machine: ${os.availableParallelism()} cores, ${os.cpus()[0]?.model ?? '?'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM; load average before the run ${load.map((l) => l.toFixed(2)).join(' ')}`,
    `- versions: Node ${process.version}, @electric-sql/pglite ${versionOf('@electric-sql/pglite')}, @nestjs/core ${versionOf('@nestjs/core')}`,
    `- service: \`node dist/src/main.js\`, NODE_ENV=production, LOG_LEVEL=warn, RATE_LIMIT_PER_MINUTE=0, no DATABASE_URL (DATABASE_PATH=bench/.work/embedded-db), other settings at their defaults`,
    `- data for the list route: ${opt.users.toLocaleString('en-US')} users, ${opt.associations.toLocaleString('en-US')} associations; ${driven.ids.length.toLocaleString('en-US')} driven users holding 2 each`,
    '',
    '| measure | value |',
    '| --- | ---: |',
    `| start-up to ready, new folder (initdb + migrations) | ${Math.round(fresh.startMs)} ms |`,
    `| start-up to ready, existing folder | ${Math.round(again.startMs)} ms |`,
    `| idle RSS after the first start | ${freshIdle} MB |`,
    `| idle RSS, existing folder | ${idle} MB |`,
    `| (a) GET own list, ${opt.connections} connections, ${opt.duration} s | ${Math.round(list.rps).toLocaleString('en-US')} req/s |`,
    `| (a) p50 / p99 | ${list.p50.toFixed(2)} / ${list.p99.toFixed(2)} ms |`,
    `| (a) service CPU per request | ${list.cpuPerRequest.toFixed(3)} ms |`,
    `| (a) unexpected statuses and socket errors | ${list.errors} |`,
    `| peak RSS under load | ${list.peakRssMb} MB |`,
    `| idle RSS after the load | ${idleAfter} MB |`,
    '',
    `kill -9 during a burst of creates (16 clients, POST of a fresh identity, SIGKILL after ${opt.killAfterMs} ms; then a restart, and each create answered 201 looked up with its audit event):`,
    '',
    '| round | answered 201 | lost | committed, answer not received | restart to ready |',
    '| ---: | ---: | ---: | ---: | ---: |',
    ...kills.map(
      (k, i) => `| ${i + 1} | ${k.answered} | ${k.lost} | ${k.unanswered} | ${Math.round(k.restartMs)} ms |`,
    ),
  ].join('\n');
  log(`\n${body}`);
  if (writeSections(opt.output, { [`embedded-node${NODE_MAJOR}`]: body })) log(`\nwrote ${opt.output}`);
  await processes.stopAll();
  if (kills.some((k) => k.lost > 0)) process.exitCode = 1;
}

main().catch(async (error) => {
  log(`bench:embedded failed: ${error.stack ?? error}`);
  await processes.stopAll();
  process.exit(1);
});
