// `npm run bench`: the service against a hand-written floor, side by side, on one
// machine, in one run. See bench/README.md. Never part of CI's pass/fail.
//
// Options: environment variables, or the same as arguments (`--duration=5` sets
// BENCH_DURATION, `--scale` sets BENCH_SCALE=1, `--database=URL` sets DATABASE).
import autocannon from 'autocannon';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { cpuMs, Latencies, readStatusKb, rssSampler } from './measure.mjs';
import { formatSummary, summarizeProfile } from './profile-summary.mjs';
import { paced } from './paced.mjs';
import { Processes, tail, waitReady } from './processes.mjs';
import { writeSections } from './results-file.mjs';
import { countRows, drivenUsers, recreateDatabase, seedAssociations, seedUsers, withDatabase } from './seed.mjs';
import { buildRequests, makeTokens, WORKLOADS } from './workloads.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const WORK = join(ROOT, 'bench', '.work');

// ------------------------------------------------------------------ options
for (const arg of process.argv.slice(2)) {
  const match = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/.exec(arg);
  if (!match) {
    process.stderr.write(`bench: unknown argument ${arg} (use --name=value, e.g. --duration=5)\n`);
    process.exit(2);
  }
  const name = match[1] === 'database' ? 'DATABASE' : `BENCH_${match[1].toUpperCase().replaceAll('-', '_')}`;
  process.env[name] = match[2] ?? '1';
}
const env = process.env;
const int = (name, fallback) => {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, got ${raw}`);
  return value;
};
const list = (name, fallback) =>
  (env[name] ?? fallback)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

const opt = {
  users: int('BENCH_USERS', 100_000),
  associations: int('BENCH_ASSOCIATIONS', 200_000),
  admins: int('BENCH_ADMINS', 5),
  tokenUsers: int('BENCH_TOKEN_USERS', 5_000),
  perDrivenUser: int('BENCH_PER_USER', 2),
  duration: int('BENCH_DURATION', 10),
  warmup: int('BENCH_WARMUP', 3),
  connections: int('BENCH_CONNECTIONS', 50),
  rounds: int('BENCH_ROUNDS', 2),
  // More rounds in the scale phase: its verdict compares two p50s, and one disturbed round of two would sway it.
  scaleRounds: int('BENCH_SCALE_ROUNDS', 4),
  workloads: list('BENCH_WORKLOADS', 'a,b,c,d'),
  servers: list('BENCH_SERVERS', 'service,floor'),
  scale: env.BENCH_SCALE === '1' || env.BENCH_SCALE === 'true' ? 'also' : env.BENCH_SCALE === 'only' ? 'only' : 'no',
  scaleVolumes: list('BENCH_SCALE_ASSOCIATIONS', '10000,1000000').map(Number),
  scaleWorkloads: list('BENCH_SCALE_WORKLOADS', 'a,b,c'),
  // Requests per second, in total, at which each volume's service is driven in the scale phase.
  scaleRate: int('BENCH_SCALE_RATE', 800),
  profile: list('BENCH_PROFILE', ''),
  serverUrl: env.DATABASE ?? env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  dbName: env.BENCH_DB_NAME ?? 'sa_bench',
  reuseDb: env.BENCH_REUSE_DB === '1',
  build: env.BENCH_SKIP_BUILD !== '1',
  poolSize: int('BENCH_POOL_SIZE', 10),
  logLevel: env.BENCH_LOG_LEVEL ?? 'warn',
  servicePort: int('BENCH_SERVICE_PORT', 3900),
  floorPort: int('BENCH_FLOOR_PORT', 3901),
  output: env.BENCH_OUTPUT ?? join(ROOT, 'bench', 'RESULTS.md'),
  // Where the service is built and run from (another checkout can be compared against this floor).
  serviceRoot: resolve(env.BENCH_SERVICE_ROOT ?? ROOT),
  // A negative nice value for the runner, both servers and their PostgreSQL backends, on a busy machine.
  nice: env.BENCH_NICE ? Number(env.BENCH_NICE) : undefined,
  // Extra environment of the service only, e.g. "RATE_LIMIT_PER_MINUTE=0 DATABASE_TIMEOUT_MS=5000".
  serviceEnv: Object.fromEntries(
    (env.BENCH_SERVICE_ENV ?? '')
      .split(/\s+/)
      .filter(Boolean)
      .map((pair) => {
        const at = pair.indexOf('=');
        if (at < 1) throw new Error(`BENCH_SERVICE_ENV: expected NAME=value, got ${pair}`);
        return [pair.slice(0, at), pair.slice(at + 1)];
      }),
  ),
};
for (const w of [...opt.workloads, ...opt.scaleWorkloads, ...opt.profile]) {
  if (!WORKLOADS[w]) throw new Error(`unknown workload "${w}" (known: a, b, c, d)`);
}
for (const s of opt.servers) if (s !== 'service' && s !== 'floor') throw new Error(`unknown server "${s}"`);
if (opt.users < 100) throw new Error('BENCH_USERS must be at least 100');
if (opt.connections < 1 || opt.duration < 1 || opt.rounds < 1) throw new Error('connections/duration/rounds >= 1');
if (opt.scale !== 'no') {
  if (opt.scaleVolumes.length < 2 || opt.scaleVolumes.some((v) => !Number.isInteger(v) || v < 1)) {
    throw new Error('BENCH_SCALE_ASSOCIATIONS must list at least two positive volumes, e.g. 10000,1000000');
  }
  if (new Set(opt.scaleVolumes).size !== opt.scaleVolumes.length) throw new Error('BENCH_SCALE_ASSOCIATIONS: repeated');
  if (opt.scaleRate < 1) throw new Error('BENCH_SCALE_RATE must be at least 1');
}
// The scale phase: one database and one service per volume, the service on its own port.
const scaleDbName = (volume) => `${opt.dbName}_${volume}`;
const scalePort = (index) => opt.servicePort + 10 + index;

const log = (line) => process.stdout.write(`${line}\n`);

// ------------------------------------------------------------------ bounded time
const runsPerPhase = (workloads) =>
  workloads.length * opt.servers.length * (opt.rounds * opt.duration + opt.warmup + 2);
const estimate =
  (opt.scale !== 'only' ? runsPerPhase(opt.workloads) : 0) +
  (opt.scale !== 'no'
    ? opt.scaleVolumes.length *
      (opt.scaleWorkloads.length * (opt.scaleRounds * opt.duration + opt.warmup + 2) +
        60 +
        Math.max(...opt.scaleVolumes) / 20_000)
    : 0) +
  opt.profile.length * opt.servers.length * (opt.duration + 5);
const deadlineSeconds = int('BENCH_TIMEOUT', Math.ceil(estimate * 1.5 + 600));
const deadline = setTimeout(() => {
  log(`bench: gave up after ${deadlineSeconds} s (BENCH_TIMEOUT)`);
  void shutdown(1);
}, deadlineSeconds * 1000);
deadline.unref();

// ------------------------------------------------------------------ child processes
const processes = new Processes(WORK, { log, oneShot: ['build', 'migrations'] });
const startNode = (name, args, extraEnv, cwd = ROOT) => processes.start(name, args, extraEnv, cwd);
const runNode = (name, args, extraEnv, timeoutMs, cwd = ROOT) => processes.run(name, args, extraEnv, timeoutMs, cwd);
const stopChild = (child) => processes.stop(child);

let stopping = false;
async function shutdown(code) {
  if (stopping) return;
  stopping = true;
  await processes.stopAll();
  await admin?.end().catch(() => {});
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(130));
process.on('SIGTERM', () => void shutdown(143));

async function assertPortFree(port) {
  try {
    await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1000) });
  } catch {
    return;
  }
  throw new Error(
    `something already answers on 127.0.0.1:${port}; set BENCH_SERVICE_PORT / BENCH_FLOOR_PORT (the scale phase uses BENCH_SERVICE_PORT+10, +11, ...)`,
  );
}

// ------------------------------------------------------------------ measuring
let runSerial = 0;
const runTag = Date.now().toString(36);

// CPU time, from /proc: the servers' own, and that of the PostgreSQL backends serving the server's
// database (in the main phase both servers share one database, but only the one being driven uses it
// during a run; in the scale phase each service has its own). Unlike requests per second, CPU time per
// request hardly depends on what else the machine is doing.
let admin; // a connection to the server's maintenance database, for pg_stat_activity
async function backendCpu(database) {
  const { rows } = await admin.query('SELECT pid FROM pg_stat_activity WHERE datname = $1', [database]);
  const byPid = new Map();
  for (const { pid } of rows) {
    if (opt.nice !== undefined) {
      try {
        os.setPriority(pid, opt.nice);
      } catch {
        // gone already
      }
    }
    const ms = cpuMs(pid);
    if (Number.isFinite(ms)) byPid.set(pid, ms);
  }
  return byPid;
}
const backendCpuSince = (before, after) => [...after].reduce((sum, [pid, ms]) => sum + ms - (before.get(pid) ?? 0), 0);

/**
 * One run against one server: autocannon as fast as the server answers (closed loop), or, given
 * `rate`, requests started at that fixed rate (bench/paced.mjs), both over opt.connections connections.
 */
async function drive(server, workload, seconds, rate) {
  if (server.child.exited) throw new Error(`${server.name} is not running:\n${tail(server.child.logFile)}`);
  const dbBefore = await backendCpu(server.database);
  const cpuBefore = cpuMs(server.child.pid);
  const stats = { expected: 0, unexpected: {} };
  const requests = buildRequests(workload, tokens, stats, `${runTag}-${++runSerial}`);
  const latencies = new Latencies();
  const sampler = rssSampler(server.child.pid);
  let result;
  if (rate) {
    const run = await paced({
      port: server.port,
      connections: opt.connections,
      rate,
      seconds,
      requests,
      onLatency: (ms) => latencies.push(ms),
    });
    result = { duration: run.seconds, errors: run.socketErrors + run.timeouts, timeouts: run.timeouts, late: run.late };
  } else {
    const instance = autocannon({
      url: `http://127.0.0.1:${server.port}`,
      connections: opt.connections,
      duration: seconds,
      timeout: 10,
      requests,
    });
    instance.on('response', (_client, _status, _bytes, ms) => latencies.push(ms));
    result = await instance;
  }
  const peakRssMb = sampler.stop();
  const cpu = cpuMs(server.child.pid) - cpuBefore;
  const dbCpu = backendCpuSince(dbBefore, await backendCpu(server.database));
  await sleep(300); // let the requests still in flight finish before the next run
  const unexpected = Object.values(stats.unexpected).reduce((n, c) => n + c, 0);
  return {
    server: server.label ?? server.name,
    workload,
    seconds: result.duration,
    completed: latencies.length,
    rps: latencies.length / result.duration,
    latencies,
    ...Latencies.percentiles([latencies]),
    unexpected,
    unexpectedByStatus: stats.unexpected,
    socketErrors: result.errors,
    timeouts: result.timeouts,
    late: result.late,
    peakRssMb,
    cpu,
    dbCpu,
  };
}

function combine(runs) {
  const completed = runs.reduce((n, r) => n + r.completed, 0);
  const seconds = runs.reduce((n, r) => n + r.seconds, 0);
  const unexpectedByStatus = {};
  for (const r of runs) {
    for (const [status, count] of Object.entries(r.unexpectedByStatus)) {
      unexpectedByStatus[status] = (unexpectedByStatus[status] ?? 0) + count;
    }
  }
  return {
    completed,
    rps: completed / seconds,
    ...Latencies.percentiles(runs.map((r) => r.latencies)),
    unexpected: runs.reduce((n, r) => n + r.unexpected, 0),
    unexpectedByStatus,
    socketErrors: runs.reduce((n, r) => n + r.socketErrors, 0),
    peakRssMb: Math.max(...runs.map((r) => r.peakRssMb)),
    cpuPerReq: runs.reduce((n, r) => n + r.cpu, 0) / completed,
    dbCpuPerReq: runs.reduce((n, r) => n + r.dbCpu, 0) / completed,
    perRound: runs.map((r) => r.rps),
    perRoundP50: runs.map((r) => r.p50),
    late: runs.reduce((n, r) => n + (r.late ?? 0), 0),
  };
}

const fmt = {
  rps: (v) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '-'),
  ms: (v) => (Number.isFinite(v) ? v.toFixed(2) : '-'),
  ratio: (v) => (Number.isFinite(v) ? `${v.toFixed(2)}x` : '-'),
  mb: (v) => (Number.isFinite(v) ? v.toFixed(0) : '-'),
  cpu: (v) => (Number.isFinite(v) ? v.toFixed(3) : '-'),
};
const describeErrors = (c) => {
  const statuses = Object.entries(c.unexpectedByStatus).map(([s, n]) => `${n}x${s}`);
  const parts = [];
  if (statuses.length) parts.push(`unexpected ${statuses.join(' ')}`);
  if (c.socketErrors) parts.push(`${c.socketErrors} socket errors`);
  return parts.length ? parts.join('; ') : '0';
};

function logRun(r, label) {
  log(
    `  ${label.padEnd(8)} ${r.server.padEnd(8)} ${fmt.rps(r.rps).padStart(7)} req/s  p50 ${fmt.ms(r.p50)} ms  p99 ${fmt.ms(r.p99)} ms  ` +
      `cpu/req ${fmt.ms(r.cpu / r.completed)} + db ${fmt.ms(r.dbCpu / r.completed)} ms  ` +
      `unexpected ${r.unexpected}  socket errors ${r.socketErrors}  ${r.late === undefined ? '' : `late ${r.late}  `}rss ${fmt.mb(r.peakRssMb)} MB`,
  );
}

/**
 * Warm-up, then A/B/A/B rounds, for each workload, closed loop or at a fixed `rate`.
 * Returns { [workload]: { [server key]: combined } }.
 */
async function measure(workloads, label, instances, rate, rounds = opt.rounds) {
  const results = {};
  for (const w of workloads) {
    log(`${label}${WORKLOADS[w].title}`);
    for (const server of instances) {
      if (opt.warmup > 0) logRun(await drive(server, w, opt.warmup, rate), 'warm-up');
    }
    const runs = Object.fromEntries(instances.map((s) => [s.key ?? s.name, []]));
    for (let round = 1; round <= rounds; round++) {
      for (const server of instances) {
        const r = await drive(server, w, opt.duration, rate);
        logRun(r, `round ${round}`);
        runs[server.key ?? server.name].push(r);
      }
    }
    results[w] = Object.fromEntries(Object.entries(runs).map(([name, rs]) => [name, combine(rs)]));
  }
  return results;
}

// ------------------------------------------------------------------ report
const TARGET_RPS = { a: 0.85, b: 0.85, c: 0.85, d: 0.75 };
const TARGET_P99 = 1.25;
const TARGET_RSS_MB = 160;

function mainTable(results) {
  const rows = [
    '| workload | server | req/s | p50 ms | p99 ms | errors | peak RSS MB | CPU ms/req (server + PostgreSQL) | req/s service/floor | p99 service/floor | server CPU/req service/floor |',
    '| --- | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  const verdicts = [];
  for (const [w, byServer] of Object.entries(results)) {
    const s = byServer.service;
    const f = byServer.floor;
    for (const [name, c] of Object.entries(byServer)) {
      const ratio = name === 'service' && s && f ? fmt.ratio(s.rps / f.rps) : '';
      const p99 = name === 'service' && s && f ? fmt.ratio(s.p99 / f.p99) : '';
      const cpu = name === 'service' && s && f ? fmt.ratio(s.cpuPerReq / f.cpuPerReq) : '';
      rows.push(
        `| ${WORKLOADS[w].title} | ${name} | ${fmt.rps(c.rps)} | ${fmt.ms(c.p50)} | ${fmt.ms(c.p99)} | ${describeErrors(c)} | ${fmt.mb(c.peakRssMb)} | ${fmt.cpu(c.cpuPerReq)} + ${fmt.cpu(c.dbCpuPerReq)} | ${ratio} | ${p99} | ${cpu} |`,
      );
    }
    if (s && f) {
      const checks = [
        [`throughput ${fmt.ratio(s.rps / f.rps)} >= ${TARGET_RPS[w]}x`, s.rps / f.rps >= TARGET_RPS[w]],
        [`p99 ${fmt.ratio(s.p99 / f.p99)} <= ${TARGET_P99}x`, s.p99 / f.p99 <= TARGET_P99],
        [
          'no unexpected statuses or socket errors',
          s.unexpected + s.socketErrors + f.unexpected + f.socketErrors === 0,
        ],
        [`service peak RSS ${fmt.mb(s.peakRssMb)} MB < ${TARGET_RSS_MB} MB`, s.peakRssMb < TARGET_RSS_MB],
      ];
      verdicts.push(
        `- ${WORKLOADS[w].title}: ${checks.map(([text, ok]) => `${ok ? 'PASS' : 'FAIL'} ${text}`).join('; ')}`,
      );
    }
  }
  return { table: rows.join('\n'), verdicts: verdicts.join('\n') };
}

function perRoundTable(results) {
  const rows = ['| workload | server | req/s per round |', '| --- | --- | --- |'];
  for (const [w, byServer] of Object.entries(results)) {
    for (const [name, c] of Object.entries(byServer)) {
      rows.push(`| ${WORKLOADS[w].title} | ${name} | ${c.perRound.map(fmt.rps).join(', ')} |`);
    }
  }
  return rows.join('\n');
}

const TARGET_SCALE_P50 = 0.2; // p50 at the largest volume within 20% of the smallest's
// The service kept up with BENCH_SCALE_RATE: at least 95% of it answered, and at most 5% of the
// requests had to wait for a free connection. A stall of 100 ms (a GC, another process) makes ~80
// requests wait and moves p99, not p50; when many more wait, p50 measures a queue again.
const RATE_REACHED = 0.95;
const LATE_AT_MOST = 0.05;

/** results: { [workload]: { [volume]: combined } }, volumes measured side by side at opt.scaleRate. */
function scaleTable(results) {
  const n = (v) => Number(v).toLocaleString('en-US');
  const volumes = opt.scaleVolumes.toSorted((x, y) => x - y);
  const [small, large] = [volumes[0], volumes.at(-1)];
  const ratioHead = `p50 ${n(large)}/${n(small)}`;
  const rows = [
    `| workload | ${volumes.map((v) => `${n(v)}: req/s · p50 · p99 · CPU ms/req (server + PostgreSQL)`).join(' | ')} | ${ratioHead} | errors |`,
    `| --- | ${volumes.map(() => '---').join(' | ')} | ---: | --- |`,
  ];
  const rounds = [
    `| workload | ${volumes.map((v) => `p50 ms per round, ${n(v)}`).join(' | ')} | ${ratioHead} per round |`,
    `| --- | ${volumes.map(() => '---').join(' | ')} | --- |`,
  ];
  const verdicts = [];
  for (const [w, byVolume] of Object.entries(results)) {
    const cells = volumes.map((v) => {
      const c = byVolume[v];
      return `${fmt.rps(c.rps)} · ${fmt.ms(c.p50)} · ${fmt.ms(c.p99)} · ${fmt.cpu(c.cpuPerReq)} + ${fmt.cpu(c.dbCpuPerReq)}`;
    });
    const ratio = byVolume[large].p50 / byVolume[small].p50;
    const errors = volumes.map((v) => describeErrors(byVolume[v])).join(' / ');
    rows.push(`| ${WORKLOADS[w].title} | ${cells.join(' | ')} | ${fmt.ratio(ratio)} | ${errors} |`);
    const perRound = byVolume[small].perRoundP50.map((p50, i) => fmt.ratio(byVolume[large].perRoundP50[i] / p50));
    rounds.push(
      `| ${WORKLOADS[w].title} | ${volumes.map((v) => byVolume[v].perRoundP50.map(fmt.ms).join(', ')).join(' | ')} | ${perRound.join(', ')} |`,
    );
    const slowest = Math.min(...volumes.map((v) => byVolume[v].rps));
    const late = Math.max(...volumes.map((v) => byVolume[v].late / byVolume[v].completed));
    const checks = [
      [
        `service p50 at ${n(large)} is ${fmt.ratio(ratio)} of ${n(small)} (target within ${TARGET_SCALE_P50 * 100}%)`,
        Math.abs(ratio - 1) <= TARGET_SCALE_P50,
      ],
      [
        `kept up with ${fmt.rps(opt.scaleRate)} req/s at every volume (lowest ${fmt.rps(slowest)} req/s; at most ${(late * 100).toFixed(1)}% of requests waited for a free connection)`,
        slowest >= opt.scaleRate * RATE_REACHED && late <= LATE_AT_MOST,
      ],
      [
        'no unexpected statuses or socket errors',
        volumes.every((v) => byVolume[v].unexpected + byVolume[v].socketErrors === 0),
      ],
    ];
    verdicts.push(
      `- ${WORKLOADS[w].title}: ${checks.map(([text, ok]) => `${ok ? 'PASS' : 'FAIL'} ${text}`).join('; ')}`,
    );
  }
  return { table: rows.join('\n'), perRound: rounds.join('\n'), verdicts: verdicts.join('\n') };
}

function versionOf(pkg) {
  try {
    return JSON.parse(readFileSync(join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')).version;
  } catch {
    return '?';
  }
}

async function gitDescribe() {
  const { execFile } = await import('node:child_process');
  const git = (args) =>
    new Promise((done) =>
      execFile('git', args, { cwd: opt.serviceRoot }, (error, stdout) => done(error ? '' : stdout.trim())),
    );
  const commit = await git(['rev-parse', '--short', 'HEAD']);
  const dirty = (await git(['status', '--porcelain', '--', 'src'])) !== '';
  if (env.BENCH_CODE_LABEL) return env.BENCH_CODE_LABEL;
  return commit
    ? `${commit}${dirty ? ' + uncommitted changes in src/' : ''}`
    : `${opt.serviceRoot} (not a git checkout)`;
}

const serviceSettings = () =>
  `NODE_ENV=production, LOG_LEVEL=${opt.logLevel}${Object.entries(opt.serviceEnv)
    .map(([k, v]) => `, ${k}=${v}`)
    .join('')}, other settings at their defaults`;

/** `load` and `servers` replace the main phase's lines of those names. */
function machineHeader(pgVersion, git, volume, { load, servers: serversLine } = {}) {
  const busy = loadBefore[0] > os.availableParallelism() * 0.5;
  return [
    ...(busy
      ? [
          `**Warning: the machine was busy (load average ${loadBefore[0].toFixed(1)} on ${os.availableParallelism()} cores before the run). Requests per second and latencies are mostly noise here; CPU per request is the more trustworthy ratio. Rerun on a quiet machine.**`,
          '',
        ]
      : []),
    `- date: ${new Date().toISOString()}`,
    `- machine: ${os.availableParallelism()} cores (\`nproc\`), ${os.cpus()[0]?.model ?? '?'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, ${os.type()} ${os.release()}`,
    `- versions: Node ${process.version}, PostgreSQL ${pgVersion}, @nestjs/core ${versionOf('@nestjs/core')}, fastify ${versionOf('fastify')}, typeorm ${versionOf('typeorm')}, pg ${versionOf('pg')}, autocannon ${versionOf('autocannon')}`,
    `- load average before the run: ${loadBefore.map((l) => l.toFixed(2)).join(' ')} (1/5/15 min); other processes on the machine skew both servers alike, but add noise`,
    ...(opt.nice !== undefined
      ? [
          `- priority: runner, servers and their PostgreSQL backends at nice ${opt.nice} (BENCH_NICE), ahead of other work on the machine`,
        ]
      : []),
    `- code: ${git}`,
    `- data: ${volume}`,
    `- load: ${load ?? `autocannon, ${opt.connections} connections, ${opt.duration} s per run, ${opt.rounds} rounds alternating ${opt.servers.join('/')} after a ${opt.warmup} s warm-up each; ${tokens.length.toLocaleString('en-US')} distinct users and tokens, rotated per request`}`,
    `- servers: ${serversLine ?? `service \`node dist/src/main.js\` (${serviceSettings()}); floor \`node bench/floor.mjs\`; both with a pool of ${opt.poolSize} PostgreSQL connections, on 127.0.0.1`}`,
  ].join('\n');
}

function writeResults(sections) {
  if (writeSections(opt.output, sections)) log(`\nwrote ${opt.output}`);
}

// ------------------------------------------------------------------ profiles
async function profileWorkloads(workloads) {
  const out = [];
  for (const w of workloads) {
    for (const server of servers) {
      server.profiles = (server.profiles ?? 0) + 1;
      const file = server.profileBase.replace(/(\.cpuprofile)?$/, `-${server.profiles}.cpuprofile`);
      log(`profiling ${server.name} on ${WORKLOADS[w].title}`);
      server.child.kill('SIGWINCH');
      await sleep(300);
      logRun(await drive(server, w, opt.duration), 'profiled');
      server.child.kill('SIGWINCH');
      const until = Date.now() + 15_000;
      while (!existsSync(file) && Date.now() < until) await sleep(200);
      await sleep(500);
      if (!existsSync(file)) {
        log(`  no profile appeared at ${file}`);
        continue;
      }
      const summary = formatSummary(
        summarizeProfile(file, 20),
        `${server.name}, ${WORKLOADS[w].title} (${file.slice(ROOT.length + 1)})`,
      );
      log(summary);
      out.push(summary);
    }
  }
  return out.join('\n');
}

// ------------------------------------------------------------------ main
let tokens = [];
let servers = [];
let loadBefore = [];
let driven;
let secret;

/**
 * Drops, creates, migrates and seeds one database with `associations` rows, or with
 * BENCH_REUSE_DB=1 keeps it when it holds the expected rows. Returns its URL and how many
 * associations each driven user holds.
 */
async function prepareDatabase(name, associations) {
  const url = withDatabase(opt.serverUrl, name);
  const perDrivenUser = Math.max(0, Math.min(opt.perDrivenUser, Math.floor(associations / driven.ids.length)));
  if (opt.reuseDb) {
    const expected = { users: opt.users, associations, drivenRows: driven.ids.length * perDrivenUser };
    const found = await countRows(url, driven.ids).catch(() => undefined);
    const show = (c) => `${c.users} users, ${c.associations} associations, ${c.drivenRows} of the driven users`;
    if (found && Object.keys(expected).every((k) => found[k] === expected[k])) {
      log(`reusing database ${name} (BENCH_REUSE_DB=1): ${show(found)}`);
      return { url, perDrivenUser };
    }
    log(
      `database ${name} ${found ? `holds ${show(found)}, not ${show(expected)}` : 'is missing or not seeded'}: seeding it again`,
    );
  }
  log(`creating database ${name}`);
  await recreateDatabase(opt.serverUrl, name);
  log('running the migrations');
  await runNode(
    'migrations',
    [
      join(opt.serviceRoot, 'node_modules', 'typeorm', 'cli.js'),
      'migration:run',
      '-d',
      join(opt.serviceRoot, 'dist', 'ormconfig.js'),
    ],
    { NODE_ENV: 'production', DATABASE_URL: url, JWT_SECRET: secret, LOG_LEVEL: 'warn' },
    120_000,
    opt.serviceRoot,
  );
  log(`seeding ${name}`);
  await seedUsers(url, opt, log);
  const seeded = await seedAssociations(url, { ...opt, total: associations, driven }, log);
  return { url, perDrivenUser: seeded.perDrivenUser };
}

async function main() {
  mkdirSync(WORK, { recursive: true });
  loadBefore = os.loadavg();
  if (opt.nice !== undefined) os.setPriority(opt.nice); // inherited by the servers
  if (loadBefore[0] > os.availableParallelism() * 0.5) {
    log(
      `warning: load average is ${loadBefore[0].toFixed(2)} on ${os.availableParallelism()} cores; results will be noisy`,
    );
  }
  secret = randomBytes(36).toString('base64url');
  driven = drivenUsers(opt);
  tokens = makeTokens(driven.ids, secret);
  const git = await gitDescribe();
  const pg = (await import('pg')).default;
  admin = new pg.Client({ connectionString: opt.serverUrl });
  await admin.connect();
  const pgVersion = (await admin.query('SHOW server_version')).rows[0].server_version;
  await Promise.all(
    [
      ...(opt.scale !== 'only' ? opt.servers.map((s) => (s === 'service' ? opt.servicePort : opt.floorPort)) : []),
      ...(opt.scale !== 'no' ? opt.scaleVolumes.map((_, i) => scalePort(i)) : []),
    ].map(assertPortFree),
  );

  const buildNeeded = opt.scale !== 'only' ? opt.servers.includes('service') : true;
  if (opt.build && buildNeeded) {
    log('building the service (npm run build)');
    await runNode(
      'build',
      [join(opt.serviceRoot, 'node_modules', '@nestjs', 'cli', 'bin', 'nest.js'), 'build'],
      {},
      300_000,
      opt.serviceRoot,
    );
  }

  const profiling = opt.profile.length > 0 && opt.scale !== 'only';
  if (opt.profile.length > 0 && !profiling)
    log('BENCH_PROFILE needs the main phase: no profiles with BENCH_SCALE=only');
  const serverEnv = (databaseUrl) => ({
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    DATABASE_URL: databaseUrl,
    DATABASE_POOL_SIZE: String(opt.poolSize),
    DATABASE_MIGRATIONS_RUN: 'false',
    JWT_SECRET: secret,
    LOG_LEVEL: opt.logLevel,
  });
  const serviceScript = join(opt.serviceRoot, 'dist', 'src', 'main.js');
  const startServer = ({ name, port, script, database, databaseUrl, cwd = ROOT, extraEnv = {}, profile = false }) => {
    const profileBase = join(WORK, `${name}.cpuprofile`);
    const args = profile ? ['--import', join(ROOT, 'bench', 'cpu-profile.mjs'), script] : [script];
    const child = startNode(
      name,
      args,
      {
        ...serverEnv(databaseUrl),
        ...extraEnv,
        PORT: String(port),
        ...(profile ? { BENCH_CPU_PROFILE_FILE: profileBase } : {}),
      },
      cwd,
    );
    return { name, port, child, database, profileBase };
  };

  const sections = {};
  const volumeText = (associations, perUser) =>
    `${opt.users.toLocaleString('en-US')} users (${opt.admins} admins), ${associations.toLocaleString('en-US')} associations; ` +
    `each of the ${driven.ids.length.toLocaleString('en-US')} driven users holds ${perUser}`;

  if (opt.scale !== 'only') {
    const { url: databaseUrl, perDrivenUser } = await prepareDatabase(opt.dbName, opt.associations);
    servers = opt.servers.map((name) =>
      name === 'service'
        ? startServer({
            name: 'service',
            port: opt.servicePort,
            script: serviceScript,
            database: opt.dbName,
            databaseUrl,
            cwd: opt.serviceRoot,
            extraEnv: opt.serviceEnv,
            profile: profiling,
          })
        : startServer({
            name: 'floor',
            port: opt.floorPort,
            script: join(ROOT, 'bench', 'floor.mjs'),
            database: opt.dbName,
            databaseUrl,
            profile: profiling,
          }),
    );
    await Promise.all(servers.map((s) => waitReady(s)));
    log(`ready: ${servers.map((s) => `${s.name} pid ${s.child.pid} on :${s.port}`).join(', ')}`);
    const hwm = () =>
      servers.map((s) => `${s.name} ${fmt.mb(readStatusKb(s.child.pid, 'VmHWM') / 1024)} MB`).join(', ');

    log(`\n== service vs floor, ${opt.associations.toLocaleString('en-US')} associations`);
    const results = await measure(opt.workloads, '', servers);
    const { table, verdicts } = mainTable(results);
    const body = [
      '## Service vs floor',
      '',
      machineHeader(pgVersion, git, volumeText(opt.associations, perDrivenUser)),
      '',
      table,
      '',
      `Lifetime peak RSS (VmHWM): ${hwm()}. "req/s" counts every request; in (b) a POST and its DELETE are two.`,
      'p50/p99 are over every response of all rounds. "errors" lists responses with a status other than the expected one, and socket errors/timeouts.',
      'CPU ms/req: CPU time (user + system, from /proc) of the server process, and of the PostgreSQL backends of the benchmark database, divided by the responses; it depends much less on other load than req/s does, so on a busy machine compare that ratio first.',
      '',
      'Targets:',
      '',
      verdicts || '- (needs both servers)',
      '',
      'Requests per second in each round (spread between rounds is noise):',
      '',
      perRoundTable(results),
    ].join('\n');
    log(`\n${table}\n\n${verdicts}`);
    sections.main = body;

    if (profiling) {
      const summaries = await profileWorkloads(opt.profile);
      sections.profile = [
        '## CPU profiles',
        '',
        `One extra ${opt.duration} s run per server under the V8 sampling profiler (not counted above). Self time, by package and by function.`,
        '',
        summaries,
      ].join('\n');
    }
    // The scale phase has its own servers: these would only hold memory and connections.
    await Promise.all(servers.map((s) => stopChild(s.child)));
  }

  if (opt.scale !== 'no') {
    const n = (v) => v.toLocaleString('en-US');
    const volumes = opt.scaleVolumes.toSorted((x, y) => x - y);
    log(`\n== scale: one database and one service per volume (${volumes.map(n).join(', ')} associations)`);
    const prepared = [];
    for (const volume of volumes) prepared.push(await prepareDatabase(scaleDbName(volume), volume));
    const instances = volumes.map((volume, i) => ({
      ...startServer({
        name: `service-${volume}`,
        port: scalePort(i),
        script: serviceScript,
        database: scaleDbName(volume),
        databaseUrl: prepared[i].url,
        cwd: opt.serviceRoot,
        extraEnv: opt.serviceEnv,
      }),
      key: volume,
      label: n(volume),
    }));
    await Promise.all(instances.map((s) => waitReady(s)));
    log(`ready: ${instances.map((s) => `${s.name} pid ${s.child.pid} on :${s.port}`).join(', ')}`);
    log(`== scale, ${n(opt.scaleRate)} requests/s`);
    const results = await measure(opt.scaleWorkloads, '', instances, opt.scaleRate, opt.scaleRounds);
    const { table, perRound, verdicts } = scaleTable(results);
    const perUser = [...new Set(prepared.map((p) => p.perDrivenUser))].join(' or ');
    const body = [
      '## Scale with data',
      '',
      machineHeader(
        pgVersion,
        git,
        `${opt.users.toLocaleString('en-US')} users (${opt.admins} admins) in every database; associations ${volumes.map(n).join(' and ')}, one database each (${volumes.map(scaleDbName).join(', ')}); each driven user holds ${perUser} at every volume, the rest is spread over the other users`,
        {
          load: `a fixed rate of ${n(opt.scaleRate)} requests/s (BENCH_SCALE_RATE; bench/paced.mjs: requests evenly spaced, round robin over ${opt.connections} keep-alive connections, one request at a time on each), ${opt.duration} s per run, ${opt.scaleRounds} rounds alternating ${volumes.map(n).join('/')} after a ${opt.warmup} s warm-up each at the same rate; ${tokens.length.toLocaleString('en-US')} distinct users and tokens, rotated per request`,
          servers: `one service per volume, \`node dist/src/main.js\` (${serviceSettings()}), each on its own database with a pool of ${opt.poolSize} PostgreSQL connections, on 127.0.0.1:${instances.map((s) => s.port).join('/')}; no floor`,
        },
      ),
      '',
      table,
      '',
      'At a fixed rate below saturation, the server is idle when most requests arrive, so p50 is the time the service takes for one request, and req/s is the rate asked for (lower means the service could not keep up).',
      '"req/s" counts every request; in (b) a POST and its DELETE are two. p50/p99 are over every response of all rounds, measured by the client.',
      'CPU ms/req: CPU time (user + system, from /proc) of the service process, and of the PostgreSQL backends of its database, divided by the responses.',
      '',
      'Targets:',
      '',
      verdicts,
      '',
      'p50 of each round (the spread between rounds of one volume is noise):',
      '',
      perRound,
    ].join('\n');
    log(`\n${table}\n\n${perRound}\n\n${verdicts}`);
    sections.scale = body;
  }

  // Sections in a fixed order, for a new file.
  writeResults(
    Object.fromEntries(['main', 'scale', 'profile'].filter((k) => sections[k]).map((k) => [k, sections[k]])),
  );
  await shutdown(0);
}

main().catch((error) => {
  log(`bench: ${error?.stack ?? error}`);
  void shutdown(1);
});
