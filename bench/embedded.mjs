// `npm run bench:embedded`: the service on its embedded PostgreSQL (no DATABASE_URL), alone, by
// itself: how long it takes to start, how much memory it holds idle and under load, how fast it
// answers the list route, and what kill -9 does to writes it has answered. See bench/README.md.
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { drive, runTags } from './drive.mjs';
import { loadAverage, machine, versions } from './facts.mjs';
import { readStatusKb } from './measure.mjs';
import { embeddedOptions, OptionsError } from './options.mjs';
import { buildService, Processes, serverEnv, serviceScript, startServer, waitReady } from './processes.mjs';
import { embeddedSection, embeddedSectionName } from './report.mjs';
import { writeSections } from './results-file.mjs';
import { drivenUsers, seedAssociations, seedUsers } from './seed.mjs';
import { makeTokens } from './workloads.mjs';

const log = (line) => process.stdout.write(`${line}\n`);
/** One section per Node major version, so runs on Node 20 and 24 stand side by side. */
const NODE_MAJOR = process.versions.node.split('.')[0];
const ADMINS = 5;
const PER_DRIVEN_USER = 2;

/** What every step of a run is given: the options, the children, the service's secret and socket. */
function context(options) {
  let started = 0; // services started, each logs to its own file
  return Object.freeze({
    options,
    processes: new Processes(options.workDir, { log, oneShot: ['build'] }),
    secret: randomBytes(36).toString('base64url'),
    // The service's embedded engine also listens on a Unix socket in its folder.
    socketUrl: `postgresql://postgres@localhost/postgres?host=${encodeURIComponent(options.folder)}`,
    nextName: () => `embedded-service-${++started}`,
    nextTag: runTags('embedded'),
  });
}

/** Starts the built service on the folder; resolves once /health/ready answers, with the time that took. */
async function startService(ctx) {
  const { options } = ctx;
  const started = performance.now();
  const { child } = startServer(ctx.processes, {
    name: ctx.nextName(),
    script: serviceScript(options.root),
    cwd: options.root,
    port: options.port,
    env: serverEnv({
      port: options.port,
      secret: ctx.secret,
      logLevel: 'warn',
      database: { path: options.folder },
      extra: { RATE_LIMIT_PER_MINUTE: '0' },
    }),
  });
  await waitReady({ name: 'service', port: options.port, child }, 120_000);
  return { child, startMs: performance.now() - started };
}

async function idleRssMb(child) {
  await sleep(2000);
  return Math.round(readStatusKb(child.pid, 'VmRSS') / 1024);
}

/** (a) GET own list, closed loop (bench/drive.mjs), for `seconds`. */
async function listRoute(ctx, child, tokens, seconds) {
  const { options } = ctx;
  const server = { name: 'service', port: options.port, child };
  const r = await drive(server, 'a', { seconds, connections: options.connections, tokens, tag: ctx.nextTag() });
  return {
    rps: r.rps,
    p50: r.p50,
    p99: r.p99,
    peakRssMb: Math.round(r.peakRssMb),
    cpuPerRequest: r.cpu / r.completed,
    errors: r.unexpected + r.socketErrors + r.timeouts,
  };
}

/**
 * Creates identities from 16 clients as fast as the service answers, kills it with SIGKILL after
 * options.killAfterMs, starts it again and counts which answered creates are stored, with their audit event.
 */
async function killRound(ctx, tokens) {
  const { options, processes } = ctx;
  const { child } = await startService(ctx);
  const answered = [];
  let killed = false;
  const tag = randomBytes(4).toString('hex');
  const clients = Array.from({ length: 16 }, async (_, client) => {
    for (let n = 0; !killed; n++) {
      const token = tokens[(client + n * 16) % tokens.length];
      const extId = `kill-${tag}-${client}-${n}`;
      try {
        const response = await fetch(`http://127.0.0.1:${options.port}/api/v2/user/${token.id}/provider/`, {
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
  await sleep(options.killAfterMs);
  const gone = processes.kill(child);
  killed = true;
  await gone;
  await Promise.all(clients);

  const restarted = await startService(ctx);
  const client = new pg.Client({ connectionString: ctx.socketUrl });
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

async function main(ctx) {
  const { options, processes, socketUrl } = ctx;
  const loadBefore = loadAverage();
  if (options.build) {
    log('building the service (nest build)');
    await buildService(processes, options.root);
  }
  rmSync(options.folder, { recursive: true, force: true });

  log('start-up on a new folder (initialises the database, then migrates it)');
  const fresh = await startService(ctx);
  const freshIdle = await idleRssMb(fresh.child);
  await processes.stop(fresh.child);
  log(`  ${Math.round(fresh.startMs)} ms to ready; idle RSS ${freshIdle} MB`);

  log('start-up on that folder again');
  const again = await startService(ctx);
  const idle = await idleRssMb(again.child);
  log(`  ${Math.round(again.startMs)} ms to ready; idle RSS ${idle} MB`);

  log(`seeding ${options.users} users and ${options.associations} associations through the service's socket`);
  const driven = drivenUsers({ users: options.users, admins: ADMINS, tokenUsers: options.tokenUsers });
  await seedUsers(socketUrl, { users: options.users, admins: ADMINS }, log);
  await seedAssociations(
    socketUrl,
    { users: options.users, total: options.associations, perDrivenUser: PER_DRIVEN_USER, driven },
    log,
  );
  const tokens = makeTokens(driven.ids, ctx.secret);

  log(`(a) GET own list: ${options.warmup} s warm-up, then ${options.duration} s, ${options.connections} connections`);
  if (options.warmup > 0) await listRoute(ctx, again.child, tokens, options.warmup);
  const list = await listRoute(ctx, again.child, tokens, options.duration);
  const idleAfter = await idleRssMb(again.child);
  log(
    `  ${Math.round(list.rps)} req/s, p50 ${list.p50.toFixed(2)} ms, p99 ${list.p99.toFixed(2)} ms, ` +
      `peak RSS ${list.peakRssMb} MB, ${list.errors} errors`,
  );
  await processes.stop(again.child);

  const kills = [];
  for (let round = 1; round <= options.killRounds; round++) {
    const result = await killRound(ctx, tokens);
    kills.push(result);
    log(
      `kill -9 round ${round}: ${result.answered} creates answered 201, ${result.lost} of them lost, ` +
        `${result.unanswered} committed but unanswered; restarted in ${Math.round(result.restartMs)} ms`,
    );
  }

  const facts = {
    machine: machine(),
    loadBefore,
    versions: versions(options.root, ['@electric-sql/pglite', '@nestjs/core']),
  };
  const body = embeddedSection(options, facts, {
    date: new Date(),
    nodeMajor: NODE_MAJOR,
    measures: { fresh, again, freshIdle, idle, list, idleAfter, kills, drivenUsers: driven.ids.length },
  });
  log(`\n${body}`);
  if (writeSections(options.output, { [embeddedSectionName(NODE_MAJOR)]: body })) log(`\nwrote ${options.output}`);
  await processes.stopAll();
  if (kills.some((k) => k.lost > 0)) process.exitCode = 1;
}

function start() {
  let options;
  try {
    options = embeddedOptions();
  } catch (error) {
    if (!(error instanceof OptionsError)) throw error;
    process.stderr.write(`bench:embedded: ${error.message}\n`);
    process.exit(2);
  }
  const ctx = context(options);
  main(ctx).catch(async (error) => {
    log(`bench:embedded failed: ${error.stack ?? error}`);
    await ctx.processes.stopAll();
    process.exit(1);
  });
}

start();
