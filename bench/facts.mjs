// What the results say about a run besides its measures: the machine, how busy it was, the versions
// of what ran, and which code was measured. Gathered here; written out by bench/report.mjs.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';

/** The machine: cores (`nproc`), CPU model, RAM, system. */
export function machine() {
  return {
    cores: os.availableParallelism(),
    cpu: os.cpus()[0]?.model ?? '?',
    ramGiB: os.totalmem() / 2 ** 30,
    system: `${os.type()} ${os.release()}`,
  };
}

/** The 1, 5 and 15 minute load averages. */
export const loadAverage = () => os.loadavg();

/** Busy: a 1-minute load average above half the cores; the results are then mostly noise. */
export const isBusy = (load, cores) => load[0] > cores * 0.5;

/** The version of an installed package of the checkout at `root`, '?' when it is not there. */
export function versionOf(root, pkg) {
  try {
    return JSON.parse(readFileSync(join(root, 'node_modules', pkg, 'package.json'), 'utf8')).version;
  } catch {
    return '?';
  }
}

/** Node's version and those of `packages` as installed in the checkout at `root`. */
export function versions(root, packages) {
  return { node: process.version, ...Object.fromEntries(packages.map((pkg) => [pkg, versionOf(root, pkg)])) };
}

/** `label` when given, else the short commit of `serviceRoot` (noting uncommitted changes in src/). */
export async function codeLabel(serviceRoot, label) {
  if (label) return label;
  const git = (args) =>
    new Promise((done) =>
      execFile('git', args, { cwd: serviceRoot }, (error, stdout) => done(error ? '' : stdout.trim())),
    );
  const commit = await git(['rev-parse', '--short', 'HEAD']);
  const dirty = (await git(['status', '--porcelain', '--', 'src'])) !== '';
  return commit ? `${commit}${dirty ? ' + uncommitted changes in src/' : ''}` : `${serviceRoot} (not a git checkout)`;
}

/**
 * How fast one core of the machine is right now: the median time of a fixed piece of work (SHA-256
 * of 64 MiB, OpenSSL, one core), in ms. This machine's cores are shared and their speed varies by
 * up to 2x from hour to hour; two runs of the same code are comparable only next to this figure.
 */
export function cpuReferenceMs() {
  const chunk = Buffer.alloc(1024 * 1024, 7);
  const times = [];
  for (let run = 0; run < 5; run++) {
    const started = performance.now();
    const hash = createHash('sha256');
    for (let i = 0; i < 64; i++) hash.update(chunk);
    hash.digest();
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b)[2];
}
