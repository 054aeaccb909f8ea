// The options of `npm run bench` (bench/run.mjs) and `npm run bench:embedded` (bench/embedded.mjs),
// read once into a frozen object that is then passed to whatever needs it. Nothing here writes to
// process.env, and no child inherits it: their environments are built in bench/processes.mjs.
// Every option is listed in bench/README.md.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WORKLOADS } from './workloads.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const WORK = join(ROOT, 'bench', '.work');

/** A bad option: the runners print its message (no stack) and exit 2. */
export class OptionsError extends Error {}

/**
 * The option readers of the scripts beside run.mjs (import.mjs, directory.mjs): the
 * environment with the arguments over it, a positive integer, a plain database name.
 */
export function scriptSource(argv = process.argv.slice(2), env = process.env) {
  return { ...env, ...argumentVariables(argv) };
}

export function positiveInt(source, name, fallback) {
  const value = source[name];
  if (value === undefined || value === '') return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new OptionsError(`${name} must be a positive integer`);
  return number;
}

export function databaseName(source, name, fallback) {
  const database = source[name] ?? fallback;
  if (!/^[a-z_][a-z0-9_]*$/.test(database)) throw new OptionsError(`${name} must be a plain database name`);
  return database;
}

/**
 * The runner's arguments as the variables they stand for: `--duration=5` is BENCH_DURATION=5,
 * `--scale` is BENCH_SCALE=1, `--database=URL` is DATABASE=URL. They win over the environment.
 */
export function argumentVariables(argv) {
  const variables = {};
  for (const arg of argv) {
    const match = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/.exec(arg);
    if (!match) throw new OptionsError(`unknown argument ${arg} (use --name=value, e.g. --duration=5)`);
    const name = match[1] === 'database' ? 'DATABASE' : `BENCH_${match[1].toUpperCase().replaceAll('-', '_')}`;
    variables[name] = match[2] ?? '1';
  }
  return variables;
}

/** Typed reads of `source` (variable name -> string); `names` collects every name read. */
function reader(source) {
  const names = new Set();
  const raw = (name) => {
    names.add(name);
    return source[name];
  };
  return {
    names,
    raw,
    text: (name, fallback) => raw(name) ?? fallback,
    on: (name) => raw(name) === '1',
    int: (name, fallback) => {
      const value = raw(name);
      if (value === undefined || value === '') return fallback;
      const number = Number(value);
      if (!Number.isInteger(number) || number < 0) {
        throw new OptionsError(`${name} must be a non-negative integer, got ${value}`);
      }
      return number;
    },
    list: (name, fallback) =>
      (raw(name) ?? fallback)
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
  };
}

function deepFreeze(value) {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/** "NAME=value NAME=value" (BENCH_SERVICE_ENV) as an object. */
function pairs(name, text) {
  return Object.fromEntries(
    text
      .split(/\s+/)
      .filter(Boolean)
      .map((pair) => {
        const at = pair.indexOf('=');
        if (at < 1) throw new OptionsError(`${name}: expected NAME=value, got ${pair}`);
        return [pair.slice(0, at), pair.slice(at + 1)];
      }),
  );
}

/** The options of bench/run.mjs, from the environment and the arguments (which win). */
export function benchOptions({ env = process.env, argv = process.argv.slice(2) } = {}) {
  const fromArguments = argumentVariables(argv);
  const read = reader({ ...env, ...fromArguments });
  const scale = read.text('BENCH_SCALE');
  const nice = read.raw('BENCH_NICE');
  const [database, databaseUrl] = [read.raw('DATABASE'), read.raw('BENCH_DATABASE_URL')];
  const options = {
    root: ROOT,
    workDir: WORK,
    users: read.int('BENCH_USERS', 100_000),
    associations: read.int('BENCH_ASSOCIATIONS', 200_000),
    admins: read.int('BENCH_ADMINS', 5),
    tokenUsers: read.int('BENCH_TOKEN_USERS', 5_000),
    perDrivenUser: read.int('BENCH_PER_USER', 2),
    duration: read.int('BENCH_DURATION', 10),
    warmup: read.int('BENCH_WARMUP', 3),
    connections: read.int('BENCH_CONNECTIONS', 50),
    rounds: read.int('BENCH_ROUNDS', 2),
    // More rounds in the scale phase: its verdict compares two p50s, and one disturbed round of two would sway it.
    scaleRounds: read.int('BENCH_SCALE_ROUNDS', 4),
    workloads: read.list('BENCH_WORKLOADS', 'a,b,c,d'),
    servers: read.list('BENCH_SERVERS', 'service,floor'),
    scale: scale === '1' || scale === 'true' ? 'also' : scale === 'only' ? 'only' : 'no',
    scaleVolumes: read.list('BENCH_SCALE_ASSOCIATIONS', '10000,1000000').map(Number),
    scaleWorkloads: read.list('BENCH_SCALE_WORKLOADS', 'a,b,c'),
    // Requests per second, in total, at which each volume's service is driven in the scale phase.
    scaleRate: read.int('BENCH_SCALE_RATE', 800),
    profile: read.list('BENCH_PROFILE', ''),
    serverUrl: database ?? databaseUrl ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    dbName: read.text('BENCH_DB_NAME', 'sa_bench'),
    reuseDb: read.on('BENCH_REUSE_DB'),
    build: !read.on('BENCH_SKIP_BUILD'),
    poolSize: read.int('BENCH_POOL_SIZE', 10),
    logLevel: read.text('BENCH_LOG_LEVEL', 'warn'),
    servicePort: read.int('BENCH_SERVICE_PORT', 3900),
    floorPort: read.int('BENCH_FLOOR_PORT', 3901),
    output: read.text('BENCH_OUTPUT', join(ROOT, 'bench', 'RESULTS.md')),
    // Where the service is built and run from (another checkout can be compared against this floor).
    serviceRoot: resolve(read.text('BENCH_SERVICE_ROOT', ROOT)),
    // A negative nice value for the runner, both servers and their PostgreSQL backends, on a busy machine.
    nice: nice ? Number(nice) : undefined,
    // Extra environment of the service only, e.g. "RATE_LIMIT_PER_MINUTE=0 DATABASE_TIMEOUT_MS=5000".
    serviceEnv: pairs('BENCH_SERVICE_ENV', read.text('BENCH_SERVICE_ENV', '')),
    // What the results say was measured; by default the service checkout's commit (bench/facts.mjs).
    codeLabel: read.raw('BENCH_CODE_LABEL') || undefined,
  };
  validate(options);
  options.timeoutSeconds = read.int('BENCH_TIMEOUT', Math.ceil(estimatedSeconds(options) * 1.5 + 600));
  for (const name of Object.keys(fromArguments)) {
    if (!read.names.has(name)) throw new OptionsError(`unknown option --${argumentName(name)} (${name})`);
  }
  return deepFreeze(options);
}

const argumentName = (variable) =>
  variable === 'DATABASE'
    ? 'database'
    : variable
        .replace(/^BENCH_/, '')
        .toLowerCase()
        .replaceAll('_', '-');

function validate(options) {
  for (const w of [...options.workloads, ...options.scaleWorkloads, ...options.profile]) {
    if (!WORKLOADS[w]) throw new OptionsError(`unknown workload "${w}" (known: a, b, c, d)`);
  }
  for (const s of options.servers)
    if (s !== 'service' && s !== 'floor') throw new OptionsError(`unknown server "${s}"`);
  if (options.users < 100) throw new OptionsError('BENCH_USERS must be at least 100');
  if (options.connections < 1 || options.duration < 1 || options.rounds < 1) {
    throw new OptionsError('connections/duration/rounds >= 1');
  }
  if (options.nice !== undefined && !Number.isInteger(options.nice)) {
    throw new OptionsError(`BENCH_NICE must be an integer, got ${options.nice}`);
  }
  if (options.scale !== 'no') {
    const volumes = options.scaleVolumes;
    if (volumes.length < 2 || volumes.some((v) => !Number.isInteger(v) || v < 1)) {
      throw new OptionsError('BENCH_SCALE_ASSOCIATIONS must list at least two positive volumes, e.g. 10000,1000000');
    }
    if (new Set(volumes).size !== volumes.length) throw new OptionsError('BENCH_SCALE_ASSOCIATIONS: repeated');
    if (options.scaleRate < 1) throw new OptionsError('BENCH_SCALE_RATE must be at least 1');
  }
}

/** How long a run should take, in seconds, for the default of BENCH_TIMEOUT. */
function estimatedSeconds(o) {
  const runsPerPhase = (workloads) => workloads.length * o.servers.length * (o.rounds * o.duration + o.warmup + 2);
  return (
    (o.scale !== 'only' ? runsPerPhase(o.workloads) : 0) +
    (o.scale !== 'no'
      ? o.scaleVolumes.length *
        (o.scaleWorkloads.length * (o.scaleRounds * o.duration + o.warmup + 2) +
          60 +
          Math.max(...o.scaleVolumes) / 20_000)
      : 0) +
    o.profile.length * o.servers.length * (o.duration + 5)
  );
}

/** The scale phase: one database per volume, `sa_bench_10000`... */
export const scaleDbName = (options, volume) => `${options.dbName}_${volume}`;
/** ... and one service per volume, the i-th (by volume) on BENCH_SERVICE_PORT + 10 + i. */
export const scalePort = (options, index) => options.servicePort + 10 + index;
/** The scale phase's volumes, smallest first. */
export const scaleVolumesSorted = (options) => options.scaleVolumes.toSorted((x, y) => x - y);

/** The options of bench/embedded.mjs, from the environment. */
export function embeddedOptions({ env = process.env } = {}) {
  const read = reader(env);
  return deepFreeze({
    root: ROOT,
    workDir: WORK,
    // The service's embedded database folder, emptied at the start of a run.
    folder: join(WORK, 'embedded-db'),
    users: read.int('BENCH_USERS', 10_000),
    associations: read.int('BENCH_ASSOCIATIONS', 20_000),
    tokenUsers: read.int('BENCH_TOKEN_USERS', 1_000),
    duration: read.int('BENCH_DURATION', 10),
    warmup: read.int('BENCH_WARMUP', 3),
    connections: read.int('BENCH_CONNECTIONS', 50),
    killRounds: read.int('BENCH_KILL_ROUNDS', 3),
    /** How long the creates run before the process is killed, in ms. */
    killAfterMs: read.int('BENCH_KILL_AFTER_MS', 2000),
    build: !read.on('BENCH_SKIP_BUILD'),
    port: read.int('BENCH_SERVICE_PORT', 3900),
    output: read.text('BENCH_OUTPUT', join(ROOT, 'bench', 'RESULTS.md')),
  });
}
