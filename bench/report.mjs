// What a run prints and writes: the Markdown sections of bench/RESULTS.md (tables, targets and the
// prose that says how to read them) and the progress line of each measured run. Pure functions of
// the options, the facts (bench/facts.mjs) and the measures (bench/measure.mjs, bench/drive.mjs);
// bench/results-file.mjs puts the sections into the file.
import { isBusy } from './facts.mjs';
import { scaleDbName, scaleVolumesSorted } from './options.mjs';
import { WORKLOADS } from './workloads.mjs';

export const fmt = {
  rps: (v) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '-'),
  ms: (v) => (Number.isFinite(v) ? v.toFixed(2) : '-'),
  ratio: (v) => (Number.isFinite(v) ? `${v.toFixed(2)}x` : '-'),
  mb: (v) => (Number.isFinite(v) ? v.toFixed(0) : '-'),
  cpu: (v) => (Number.isFinite(v) ? v.toFixed(3) : '-'),
  count: (v) => Number(v).toLocaleString('en-US'),
};
const n = fmt.count;

const describeErrors = (c) => {
  const statuses = Object.entries(c.unexpectedByStatus).map(([s, count]) => `${count}x${s}`);
  const parts = [];
  if (statuses.length) parts.push(`unexpected ${statuses.join(' ')}`);
  if (c.socketErrors) parts.push(`${c.socketErrors} socket errors`);
  return parts.length ? parts.join('; ') : '0';
};

const verdictLine = (w, checks) =>
  `- ${WORKLOADS[w].title}: ${checks.map(([text, ok]) => `${ok ? 'PASS' : 'FAIL'} ${text}`).join('; ')}`;

/** The console line of one run (bench/drive.mjs), e.g. `round 1  service   12,345 req/s  p50 ...`. */
export function runLine(r, label) {
  return (
    `  ${label.padEnd(8)} ${r.server.padEnd(8)} ${fmt.rps(r.rps).padStart(7)} req/s  p50 ${fmt.ms(r.p50)} ms  p99 ${fmt.ms(r.p99)} ms  ` +
    `cpu/req ${fmt.ms(r.cpu / r.completed)} + db ${fmt.ms(r.dbCpu / r.completed)} ms  ` +
    `unexpected ${r.unexpected}  socket errors ${r.socketErrors}  ${r.late === undefined ? '' : `late ${r.late}  `}rss ${fmt.mb(r.peakRssMb)} MB`
  );
}

// ------------------------------------------------------------------ service vs floor

// The targets for the service against the floor (issue "The list route and the 401 path at the speed of
// hand-written code"): the write and 404 paths near the floor, the two framework-bound paths a little below.
const TARGET_RPS = { a: 0.85, b: 0.95, c: 0.95, d: 0.75 };
const TARGET_P99 = 1.25;
const TARGET_RSS_MB = 160;

/** results: { [workload]: { service?, floor? } } of combined runs (bench/measure.mjs combine). */
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
      verdicts.push(
        verdictLine(w, [
          [`throughput ${fmt.ratio(s.rps / f.rps)} >= ${TARGET_RPS[w]}x`, s.rps / f.rps >= TARGET_RPS[w]],
          [`p99 ${fmt.ratio(s.p99 / f.p99)} <= ${TARGET_P99}x`, s.p99 / f.p99 <= TARGET_P99],
          [
            'no unexpected statuses or socket errors',
            s.unexpected + s.socketErrors + f.unexpected + f.socketErrors === 0,
          ],
          [`service peak RSS ${fmt.mb(s.peakRssMb)} MB < ${TARGET_RSS_MB} MB`, s.peakRssMb < TARGET_RSS_MB],
        ]),
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

const serviceSettings = (options) =>
  `NODE_ENV=production, LOG_LEVEL=${options.logLevel}${Object.entries(options.serviceEnv)
    .map(([k, v]) => `, ${k}=${v}`)
    .join('')}, other settings at their defaults`;

/**
 * The lines above a table: date, machine, versions, load, code, data, load and servers.
 * `facts`: { loadBefore, pgVersion, code, machine, versions } (bench/facts.mjs); `drivenUsers`: how
 * many users the load rotates over; `load` and `servers` replace the main phase's lines of those names.
 */
function machineHeader(options, facts, { date, volume, drivenUsers, load, servers }) {
  const { machine: m, loadBefore, versions: v } = facts;
  return [
    ...(isBusy(loadBefore, m.cores)
      ? [
          `**Warning: the machine was busy (load average ${loadBefore[0].toFixed(1)} on ${m.cores} cores before the run). Requests per second and latencies are mostly noise here; CPU per request is the more trustworthy ratio. Rerun on a quiet machine.**`,
          '',
        ]
      : []),
    `- date: ${date.toISOString()}`,
    `- machine: ${m.cores} cores (\`nproc\`), ${m.cpu}, ${m.ramGiB.toFixed(0)} GiB RAM, ${m.system}`,
    `- versions: Node ${v.node}, PostgreSQL ${facts.pgVersion}, @nestjs/core ${v['@nestjs/core']}, fastify ${v.fastify}, typeorm ${v.typeorm}, pg ${v.pg}, autocannon ${v.autocannon}`,
    `- load average before the run: ${loadBefore.map((l) => l.toFixed(2)).join(' ')} (1/5/15 min); other processes on the machine skew both servers alike, but add noise`,
    ...(options.nice !== undefined
      ? [
          `- priority: runner, servers and their PostgreSQL backends at nice ${options.nice} (BENCH_NICE), ahead of other work on the machine`,
        ]
      : []),
    `- code: ${facts.code}`,
    `- data: ${volume}`,
    `- load: ${load ?? `autocannon, ${options.connections} connections, ${options.duration} s per run, ${options.rounds} rounds alternating ${options.servers.join('/')} after a ${options.warmup} s warm-up each; ${n(drivenUsers)} distinct users and tokens, rotated per request`}`,
    `- servers: ${servers ?? `service \`node dist/src/main.js\` (${serviceSettings(options)}); floor \`node bench/floor.mjs\`; both with a pool of ${options.poolSize} PostgreSQL connections, on 127.0.0.1`}`,
  ].join('\n');
}

/**
 * The section `main`, and what the console shows of it. `results` as for mainTable; `perDrivenUser`:
 * what each driven user holds; `lifetimePeaks`: [{ name, mb }] (VmHWM of each server).
 */
export function mainReport(options, facts, { date, results, drivenUsers, perDrivenUser, lifetimePeaks }) {
  const { table, verdicts } = mainTable(results);
  const volume =
    `${n(options.users)} users (${options.admins} admins), ${n(options.associations)} associations; ` +
    `each of the ${n(drivenUsers)} driven users holds ${perDrivenUser}`;
  const section = [
    '## Service vs floor',
    '',
    machineHeader(options, facts, { date, volume, drivenUsers }),
    '',
    table,
    '',
    `Lifetime peak RSS (VmHWM): ${lifetimePeaks.map((p) => `${p.name} ${fmt.mb(p.mb)} MB`).join(', ')}. "req/s" counts every request; in (b) a POST and its DELETE are two.`,
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
  return { section, summary: `${table}\n\n${verdicts}` };
}

/** The section `profile`: one summary (bench/profile-summary.mjs formatSummary) per profiled run. */
export function profileSection(options, summaries) {
  return [
    '## CPU profiles',
    '',
    `One extra ${options.duration} s run per server under the V8 sampling profiler (not counted above). Self time, by package and by function.`,
    '',
    summaries.join('\n'),
  ].join('\n');
}

// ------------------------------------------------------------------ scale with data

const TARGET_SCALE_P50 = 0.2; // p50 at the largest volume within 20% of the smallest's
// The service kept up with BENCH_SCALE_RATE: at least 95% of it answered, and at most 5% of the
// requests had to wait for a free connection. A stall of 100 ms (a GC, another process) makes ~80
// requests wait and moves p99, not p50; when many more wait, p50 measures a queue again.
const RATE_REACHED = 0.95;
const LATE_AT_MOST = 0.05;

/** results: { [workload]: { [volume]: combined } }, volumes measured side by side at options.scaleRate. */
function scaleTable(options, results) {
  const volumes = scaleVolumesSorted(options);
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
    verdicts.push(
      verdictLine(w, [
        [
          `service p50 at ${n(large)} is ${fmt.ratio(ratio)} of ${n(small)} (target within ${TARGET_SCALE_P50 * 100}%)`,
          Math.abs(ratio - 1) <= TARGET_SCALE_P50,
        ],
        [
          `kept up with ${fmt.rps(options.scaleRate)} req/s at every volume (lowest ${fmt.rps(slowest)} req/s; at most ${(late * 100).toFixed(1)}% of requests waited for a free connection)`,
          slowest >= options.scaleRate * RATE_REACHED && late <= LATE_AT_MOST,
        ],
        [
          'no unexpected statuses or socket errors',
          volumes.every((v) => byVolume[v].unexpected + byVolume[v].socketErrors === 0),
        ],
      ]),
    );
  }
  return { table: rows.join('\n'), perRound: rounds.join('\n'), verdicts: verdicts.join('\n') };
}

/**
 * The section `scale`, and what the console shows of it. `perDrivenUser`: what each driven user
 * holds, per volume; `ports`: of the services, by volume.
 */
export function scaleReport(options, facts, { date, results, drivenUsers, perDrivenUser, ports }) {
  const volumes = scaleVolumesSorted(options);
  const { table, perRound, verdicts } = scaleTable(options, results);
  const perUser = [...new Set(perDrivenUser)].join(' or ');
  const section = [
    '## Scale with data',
    '',
    machineHeader(options, facts, {
      date,
      drivenUsers,
      volume: `${n(options.users)} users (${options.admins} admins) in every database; associations ${volumes.map(n).join(' and ')}, one database each (${volumes.map((v) => scaleDbName(options, v)).join(', ')}); each driven user holds ${perUser} at every volume, the rest is spread over the other users`,
      load: `a fixed rate of ${n(options.scaleRate)} requests/s (BENCH_SCALE_RATE; bench/paced.mjs: requests evenly spaced, round robin over ${options.connections} keep-alive connections, one request at a time on each), ${options.duration} s per run, ${options.scaleRounds} rounds alternating ${volumes.map(n).join('/')} after a ${options.warmup} s warm-up each at the same rate; ${n(drivenUsers)} distinct users and tokens, rotated per request`,
      servers: `one service per volume, \`node dist/src/main.js\` (${serviceSettings(options)}), each on its own database with a pool of ${options.poolSize} PostgreSQL connections, on 127.0.0.1:${ports.join('/')}; no floor`,
    }),
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
  return { section, summary: `${table}\n\n${perRound}\n\n${verdicts}` };
}

// ------------------------------------------------------------------ the embedded engine

/** The name of the embedded engine's section: one per Node major version, side by side. */
export const embeddedSectionName = (nodeMajor) => `embedded-node${nodeMajor}`;

/**
 * The section `embedded-node<major>` (bench/embedded.mjs). `facts`: { machine, loadBefore, versions };
 * `measures`: { fresh, again, freshIdle, idle, list, idleAfter, kills, drivenUsers }.
 */
export function embeddedSection(options, facts, { date, nodeMajor, measures }) {
  const { machine: m, loadBefore, versions: v } = facts;
  const { fresh, again, freshIdle, idle, list, idleAfter, kills, drivenUsers } = measures;
  return [
    `## Embedded PostgreSQL (PGlite), Node ${nodeMajor}`,
    '',
    `- date: ${date.toISOString()}`,
    `- machine: ${m.cores} cores, ${m.cpu}, ${m.ramGiB.toFixed(0)} GiB RAM; load average before the run ${loadBefore.map((l) => l.toFixed(2)).join(' ')}`,
    `- versions: Node ${v.node}, @electric-sql/pglite ${v['@electric-sql/pglite']}, @nestjs/core ${v['@nestjs/core']}`,
    `- service: \`node dist/src/main.js\`, NODE_ENV=production, LOG_LEVEL=warn, RATE_LIMIT_PER_MINUTE=0, no DATABASE_URL (DATABASE_PATH=bench/.work/embedded-db), other settings at their defaults`,
    `- data for the list route: ${n(options.users)} users, ${n(options.associations)} associations; ${n(drivenUsers)} driven users holding 2 each`,
    '',
    '| measure | value |',
    '| --- | ---: |',
    `| start-up to ready, new folder (initdb + migrations) | ${Math.round(fresh.startMs)} ms |`,
    `| start-up to ready, existing folder | ${Math.round(again.startMs)} ms |`,
    `| idle RSS after the first start | ${freshIdle} MB |`,
    `| idle RSS, existing folder | ${idle} MB |`,
    `| (a) GET own list, ${options.connections} connections, ${options.duration} s | ${n(Math.round(list.rps))} req/s |`,
    `| (a) p50 / p99 | ${list.p50.toFixed(2)} / ${list.p99.toFixed(2)} ms |`,
    `| (a) service CPU per request | ${list.cpuPerRequest.toFixed(3)} ms |`,
    `| (a) unexpected statuses and socket errors | ${list.errors} |`,
    `| peak RSS under load | ${list.peakRssMb} MB |`,
    `| idle RSS after the load | ${idleAfter} MB |`,
    '',
    `kill -9 during a burst of creates (16 clients, POST of a fresh identity, SIGKILL after ${options.killAfterMs} ms; then a restart, and each create answered 201 looked up with its audit event):`,
    '',
    '| round | answered 201 | lost | committed, answer not received | restart to ready |',
    '| ---: | ---: | ---: | ---: | ---: |',
    ...kills.map(
      (k, i) => `| ${i + 1} | ${k.answered} | ${k.lost} | ${k.unanswered} | ${Math.round(k.restartMs)} ms |`,
    ),
  ].join('\n');
}
