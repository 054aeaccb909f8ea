// `npm run bench`: the service against a hand-written floor, side by side, on one
// machine, in one run. See bench/README.md. Never part of CI's pass/fail.
//
// This file only orchestrates the phases of a run. The options come from bench/options.mjs, the
// child processes from bench/processes.mjs, the databases from bench/seed.mjs, each measured run
// from bench/drive.mjs and its statistics from bench/measure.mjs, the Markdown from
// bench/report.mjs, and bench/results-file.mjs writes it. What a step needs it is given, in the
// run's context (`ctx`); nothing here is module-level state.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { runTags, drive } from './drive.mjs';
import { codeLabel, isBusy, loadAverage, machine, versions } from './facts.mjs';
import { combine, cpuOf, readStatusKb } from './measure.mjs';
import { benchOptions, OptionsError, scaleDbName, scalePort, scaleVolumesSorted } from './options.mjs';
import {
  assertPortFree,
  buildService,
  FLOOR_SCRIPT,
  postgresBackends,
  Processes,
  runMigrations,
  serverEnv,
  serviceScript,
  startServer,
  waitReady,
} from './processes.mjs';
import { formatSummary, summarizeProfile } from './profile-summary.mjs';
import { fmt, mainReport, profileSection, runLine, scaleReport } from './report.mjs';
import { writeSections } from './results-file.mjs';
import { drivenUsers, prepareDatabase } from './seed.mjs';
import { makeTokens, WORKLOADS } from './workloads.mjs';

const log = (line) => process.stdout.write(`${line}\n`);

// ------------------------------------------------------------------ the run

/** Starts the run: options, clean-up on exit, Ctrl-C and the time limit, then the phases. */
function start() {
  let options;
  try {
    options = benchOptions();
  } catch (error) {
    if (!(error instanceof OptionsError)) throw error;
    process.stderr.write(`bench: ${error.message}\n`);
    process.exit(2);
  }
  const processes = new Processes(options.workDir, { log, oneShot: ['build', 'migrations'] });
  const onExit = []; // what to close before exiting, besides the children
  const shutdown = once(async (code) => {
    await processes.stopAll();
    for (const close of onExit) await close().catch(() => {});
    process.exit(code);
  });
  process.on('SIGINT', () => void shutdown(130));
  process.on('SIGTERM', () => void shutdown(143));
  const deadline = setTimeout(() => {
    log(`bench: gave up after ${options.timeoutSeconds} s (BENCH_TIMEOUT)`);
    void shutdown(1);
  }, options.timeoutSeconds * 1000);
  deadline.unref();

  run(options, processes, (close) => onExit.push(close)).then(
    () => shutdown(0),
    (error) => {
      log(`bench: ${error?.stack ?? error}`);
      void shutdown(1);
    },
  );
}

/** `work` the first time, nothing after: a second Ctrl-C or a late deadline does not stop twice. */
function once(work) {
  let started = false;
  return async (...args) => {
    if (started) return;
    started = true;
    await work(...args);
  };
}

async function run(options, processes, closeOnExit) {
  mkdirSync(options.workDir, { recursive: true });
  const loadBefore = loadAverage();
  const thisMachine = machine();
  if (options.nice !== undefined) os.setPriority(options.nice); // inherited by the servers
  if (isBusy(loadBefore, thisMachine.cores)) {
    log(`warning: load average is ${loadBefore[0].toFixed(2)} on ${thisMachine.cores} cores; results will be noisy`);
  }
  const secret = randomBytes(36).toString('base64url');
  const driven = drivenUsers(options);
  const tokens = makeTokens(driven.ids, secret);
  const code = await codeLabel(options.serviceRoot, options.codeLabel);
  // On the server's maintenance database: which PostgreSQL backends serve a benchmark database.
  const admin = new pg.Client({ connectionString: options.serverUrl });
  closeOnExit(() => admin.end());
  await admin.connect();
  const pgVersion = (await admin.query('SHOW server_version')).rows[0].server_version;
  await Promise.all(
    [
      ...(options.scale !== 'only'
        ? options.servers.map((s) => (s === 'service' ? options.servicePort : options.floorPort))
        : []),
      ...(options.scale !== 'no' ? options.scaleVolumes.map((_, i) => scalePort(options, i)) : []),
    ].map(assertPortFree),
  );

  const buildNeeded = options.scale !== 'only' ? options.servers.includes('service') : true;
  if (options.build && buildNeeded) {
    log('building the service (npm run build)');
    await buildService(processes, options.serviceRoot);
  }

  const ctx = Object.freeze({
    options,
    log,
    processes,
    secret,
    driven,
    tokens,
    facts: Object.freeze({
      machine: thisMachine,
      loadBefore,
      pgVersion,
      code,
      versions: versions(options.root, ['@nestjs/core', 'fastify', 'typeorm', 'pg', 'autocannon']),
    }),
    nextTag: runTags(),
    // CPU time, from /proc, of the PostgreSQL backends serving `database` (in the main phase both
    // servers share one database, but only the one being driven uses it during a run; in the scale
    // phase each service has its own). Unlike requests per second, CPU time per request hardly
    // depends on what else the machine is doing.
    backendCpu: async (database) => cpuOf(await postgresBackends(admin, database, options.nice)),
  });

  const profiling = options.profile.length > 0 && options.scale !== 'only';
  if (options.profile.length > 0 && !profiling)
    log('BENCH_PROFILE needs the main phase: no profiles with BENCH_SCALE=only');
  const sections = {};
  if (options.scale !== 'only') Object.assign(sections, await mainPhase(ctx, profiling));
  if (options.scale !== 'no') sections.scale = await scalePhase(ctx);

  // Sections in a fixed order, for a new file.
  const ordered = ['main', 'scale', 'profile'].filter((k) => sections[k]).map((k) => [k, sections[k]]);
  if (writeSections(options.output, Object.fromEntries(ordered))) log(`\nwrote ${options.output}`);
}

// ------------------------------------------------------------------ steps

/** A database for a phase (bench/seed.mjs), migrated with the service's own migrations. */
function prepare(ctx, name, associations) {
  const { options, processes, secret } = ctx;
  return prepareDatabase(options, {
    name,
    associations,
    driven: ctx.driven,
    log: ctx.log,
    migrate: (databaseUrl) => runMigrations(processes, { serviceRoot: options.serviceRoot, databaseUrl, secret }),
  });
}

/** Starts one server under test on `database`; `extraEnv` is BENCH_SERVICE_ENV for the service. */
function startOne(ctx, { name, port, script, cwd, database, databaseUrl, extraEnv, profile = false }) {
  const { options } = ctx;
  const profileBase = join(options.workDir, `${name}.cpuprofile`);
  const env = serverEnv({
    port,
    secret: ctx.secret,
    logLevel: options.logLevel,
    database: { url: databaseUrl, poolSize: options.poolSize },
    extra: extraEnv,
  });
  const server = startServer(ctx.processes, {
    name,
    script,
    cwd,
    port,
    env,
    profileFile: profile ? profileBase : undefined,
  });
  return { ...server, database, profileBase };
}

/** One run (bench/drive.mjs) of `server` with the run's connections, tokens and backends. */
function driveOnce(ctx, server, workload, seconds, rate) {
  return drive(server, workload, {
    seconds,
    rate,
    connections: ctx.options.connections,
    tokens: ctx.tokens,
    tag: ctx.nextTag(),
    backendCpu: () => ctx.backendCpu(server.database),
  });
}

/**
 * Warm-up, then A/B/A/B rounds, for each workload, closed loop or at a fixed `rate`.
 * Returns { [workload]: { [server key]: combined } }.
 */
async function alternate(ctx, { workloads, servers, rate, rounds }) {
  const { options, log } = ctx;
  const results = {};
  for (const w of workloads) {
    log(WORKLOADS[w].title);
    for (const server of servers) {
      if (options.warmup > 0) log(runLine(await driveOnce(ctx, server, w, options.warmup, rate), 'warm-up'));
    }
    const runs = Object.fromEntries(servers.map((s) => [s.key ?? s.name, []]));
    for (let round = 1; round <= rounds; round++) {
      for (const server of servers) {
        const r = await driveOnce(ctx, server, w, options.duration, rate);
        log(runLine(r, `round ${round}`));
        runs[server.key ?? server.name].push(r);
      }
    }
    results[w] = Object.fromEntries(Object.entries(runs).map(([name, rs]) => [name, combine(rs)]));
  }
  return results;
}

/**
 * One more run per listed workload and server under the V8 profiler (SIGWINCH starts and stops it,
 * bench/cpu-profile.mjs), each summarized (bench/profile-summary.mjs).
 */
async function profileRuns(ctx, servers) {
  const { options, log } = ctx;
  const profiles = new Map(); // server -> how many profiles it has written
  const summaries = [];
  for (const w of options.profile) {
    for (const server of servers) {
      profiles.set(server, (profiles.get(server) ?? 0) + 1);
      const file = server.profileBase.replace(/(\.cpuprofile)?$/, `-${profiles.get(server)}.cpuprofile`);
      log(`profiling ${server.name} on ${WORKLOADS[w].title}`);
      server.child.kill('SIGWINCH');
      await sleep(300);
      log(runLine(await driveOnce(ctx, server, w, options.duration), 'profiled'));
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
        `${server.name}, ${WORKLOADS[w].title} (${file.slice(options.root.length + 1)})`,
      );
      log(summary);
      summaries.push(summary);
    }
  }
  return summaries;
}

// ------------------------------------------------------------------ phases

/** Service vs floor on `sa_bench`, then the profiles; the sections `main` and `profile`. */
async function mainPhase(ctx, profiling) {
  const { options, log } = ctx;
  const { url: databaseUrl, perDrivenUser } = await prepare(ctx, options.dbName, options.associations);
  const servers = options.servers.map((name) =>
    name === 'service'
      ? startOne(ctx, {
          name: 'service',
          port: options.servicePort,
          script: serviceScript(options.serviceRoot),
          cwd: options.serviceRoot,
          database: options.dbName,
          databaseUrl,
          extraEnv: options.serviceEnv,
          profile: profiling,
        })
      : startOne(ctx, {
          name: 'floor',
          port: options.floorPort,
          script: FLOOR_SCRIPT,
          cwd: options.root,
          database: options.dbName,
          databaseUrl,
          profile: profiling,
        }),
  );
  await Promise.all(servers.map((s) => waitReady(s)));
  log(`ready: ${servers.map((s) => `${s.name} pid ${s.child.pid} on :${s.port}`).join(', ')}`);

  log(`\n== service vs floor, ${fmt.count(options.associations)} associations`);
  const results = await alternate(ctx, { workloads: options.workloads, servers, rounds: options.rounds });
  const { section, summary } = mainReport(options, ctx.facts, {
    date: new Date(),
    results,
    drivenUsers: ctx.driven.ids.length,
    perDrivenUser,
    lifetimePeaks: servers.map((s) => ({ name: s.name, mb: readStatusKb(s.child.pid, 'VmHWM') / 1024 })),
  });
  log(`\n${summary}`);
  const sections = { main: section };

  if (profiling) sections.profile = profileSection(options, await profileRuns(ctx, servers));
  // The scale phase has its own servers: these would only hold memory and connections.
  await Promise.all(servers.map((s) => ctx.processes.stop(s.child)));
  return sections;
}

/** One database and one service per volume, side by side at a fixed rate; the section `scale`. */
async function scalePhase(ctx) {
  const { options, log } = ctx;
  const n = fmt.count;
  const volumes = scaleVolumesSorted(options);
  log(`\n== scale: one database and one service per volume (${volumes.map(n).join(', ')} associations)`);
  const prepared = [];
  for (const volume of volumes) prepared.push(await prepare(ctx, scaleDbName(options, volume), volume));
  const instances = volumes.map((volume, i) => ({
    ...startOne(ctx, {
      name: `service-${volume}`,
      port: scalePort(options, i),
      script: serviceScript(options.serviceRoot),
      cwd: options.serviceRoot,
      database: scaleDbName(options, volume),
      databaseUrl: prepared[i].url,
      extraEnv: options.serviceEnv,
    }),
    key: volume,
    label: n(volume),
  }));
  await Promise.all(instances.map((s) => waitReady(s)));
  log(`ready: ${instances.map((s) => `${s.name} pid ${s.child.pid} on :${s.port}`).join(', ')}`);
  log(`== scale, ${n(options.scaleRate)} requests/s`);
  const results = await alternate(ctx, {
    workloads: options.scaleWorkloads,
    servers: instances,
    rate: options.scaleRate,
    rounds: options.scaleRounds,
  });
  const { section, summary } = scaleReport(options, ctx.facts, {
    date: new Date(),
    results,
    drivenUsers: ctx.driven.ids.length,
    perDrivenUser: prepared.map((p) => p.perDrivenUser),
    ports: instances.map((s) => s.port),
  });
  log(`\n${summary}`);
  return section;
}

start();
