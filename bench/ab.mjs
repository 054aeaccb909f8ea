// Side-by-side CPU per request of several service builds (or settings), for deciding whether a change
// pays: `npm run bench:ab -- WORKLOADS ROUNDS SECONDS NAME=ROOT[:VAR=value,...] ...`, e.g.
//
//   npm run bench:ab -- a,d 3 5 before=/tmp/before after=. floor=floor
//   npm run bench:ab -- a 3 5 default=. semi16=.:NODE_OPTIONS=--max-semi-space-size=16
//
// ROOT is a checkout holding a built `dist/` (its node_modules beside it), or `floor` for bench/floor.mjs;
// after the colon, extra environment of that server (comma-separated VAR=value). Every variant is started
// at once, each on its own port, all on the database `npm run bench` seeded (sa_bench, BENCH_REUSE_DB-style:
// run `npm run bench` once first). Then, per workload, a 2 s warm-up of each and ROUNDS rounds of SECONDS
// alternating between them, so that each variant meets the machine's changing speed alike. It prints each
// run and a summary: server CPU per response, req/s per round, p99 per round, peak RSS. It writes nothing.
import { drive, runTags } from './drive.mjs';
import { FLOOR_SCRIPT, Processes, serverEnv, serviceScript, startServer, waitReady } from './processes.mjs';
import { drivenUsers } from './seed.mjs';
import { makeTokens, WORKLOADS } from './workloads.mjs';
import { OptionsError } from './options.mjs';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';

const DATABASE_URL = process.env.DATABASE ?? 'postgres://postgres@127.0.0.1:5432/sa_bench';
const FIRST_PORT = 3950;

function parseArguments([workloads, rounds, seconds, ...variants]) {
  const usage = 'usage: node bench/ab.mjs WORKLOADS ROUNDS SECONDS NAME=ROOT[:VAR=value,...] ...';
  if (!workloads || variants.length === 0) throw new OptionsError(usage);
  const keys = workloads.split(',');
  for (const key of keys) if (!WORKLOADS[key]) throw new OptionsError(`unknown workload "${key}" (known: a, b, c, d)`);
  const [roundCount, runSeconds] = [Number(rounds), Number(seconds)];
  if (!Number.isInteger(roundCount) || roundCount < 1 || !Number.isInteger(runSeconds) || runSeconds < 1) {
    throw new OptionsError(`ROUNDS and SECONDS must be positive integers\n${usage}`);
  }
  return {
    keys,
    roundCount,
    runSeconds,
    variants: variants.map((variant) => {
      const at = variant.indexOf('=');
      if (at < 1) throw new OptionsError(`expected NAME=ROOT, got ${variant}\n${usage}`);
      const [root, settings = ''] = variant.slice(at + 1).split(/:(.*)/s);
      const env = Object.fromEntries(
        settings
          .split(',')
          .filter(Boolean)
          .map((pair) => {
            const eq = pair.indexOf('=');
            if (eq < 1) throw new OptionsError(`expected VAR=value, got ${pair}`);
            return [pair.slice(0, eq), pair.slice(eq + 1)];
          }),
      );
      return { name: variant.slice(0, at), root: root === 'floor' ? 'floor' : resolve(root), env };
    }),
  };
}

async function main() {
  const { keys, roundCount, runSeconds, variants } = parseArguments(process.argv.slice(2));
  // Any secret will do: the servers and the tokens share it, and the seeded users have no passwords.
  const secret = 'ab-secret-'.padEnd(48, 'x');
  const tokens = makeTokens(drivenUsers({ users: 100_000, admins: 5, tokenUsers: 5_000 }).ids, secret);
  const processes = new Processes(join(tmpdir(), 'sa-bench-ab'), { log: (line) => process.stderr.write(`${line}\n`) });
  process.on('SIGINT', () => void processes.stopAll().then(() => process.exit(130)));
  const servers = variants.map((variant, index) => {
    const port = FIRST_PORT + index;
    const database = { url: DATABASE_URL, poolSize: 10 };
    const env = serverEnv({ port, secret, logLevel: 'warn', database, extra: variant.env });
    const floor = variant.root === 'floor';
    const script = floor ? FLOOR_SCRIPT : serviceScript(variant.root);
    return startServer(processes, { name: variant.name, script, cwd: floor ? undefined : variant.root, port, env });
  });
  try {
    await Promise.all(servers.map((server) => waitReady(server)));
    const tag = runTags();
    const totals = new Map();
    for (const key of keys) {
      for (const server of servers) await drive(server, key, { seconds: 2, connections: 50, tokens, tag: tag() });
      for (let round = 0; round < roundCount; round++) {
        for (const server of servers) {
          const run = await drive(server, key, { seconds: runSeconds, connections: 50, tokens, tag: tag() });
          const label = `${key} ${server.name}`;
          const total = totals.get(label) ?? { cpu: 0, responses: 0, rps: [], p99: [], rss: 0, bad: 0 };
          total.cpu += run.cpu;
          total.responses += run.completed;
          total.rps.push(Math.round(run.rps));
          total.p99.push(run.p99.toFixed(1));
          total.rss = Math.max(total.rss, run.peakRssMb);
          total.bad += run.unexpected + run.socketErrors;
          totals.set(label, total);
          console.log(
            `${label.padEnd(16)} round ${round + 1}: ${Math.round(run.rps)} req/s, ` +
              `${((1000 * run.cpu) / run.completed).toFixed(1)} µs CPU/response, p99 ${run.p99.toFixed(1)} ms, ` +
              `RSS ${run.peakRssMb.toFixed(0)} MB, unexpected ${run.unexpected + run.socketErrors}`,
          );
        }
      }
    }
    console.log('\nsummary (CPU: the server process only, over every response of every round)');
    for (const [label, t] of totals) {
      console.log(
        `${label.padEnd(16)} ${((1000 * t.cpu) / t.responses).toFixed(1).padStart(7)} µs CPU/response  ` +
          `req/s ${t.rps.join(' / ')}  p99 ms ${t.p99.join(' / ')}  peak RSS ${t.rss.toFixed(0)} MB  unexpected ${t.bad}`,
      );
    }
  } finally {
    await processes.stopAll();
  }
}

main().catch((error) => {
  process.stderr.write(`${error instanceof OptionsError ? error.message : (error?.stack ?? error)}\n`);
  process.exit(error instanceof OptionsError ? 2 : 1);
});
