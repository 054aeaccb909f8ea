// What a benchmark reads off a process (from /proc) and off its responses (latencies), and the
// statistics of several runs together. Nothing here starts, drives or prints anything.
import { readFileSync } from 'node:fs';

/** A `kB` field of /proc/<pid>/status (VmRSS, VmHWM), 0 once the process is gone. */
export function readStatusKb(pid, field) {
  try {
    const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

/** Samples VmRSS every 100 ms; stop() returns the peak in MB. */
export function rssSampler(pid) {
  let peakKb = readStatusKb(pid, 'VmRSS');
  const timer = setInterval(() => {
    peakKb = Math.max(peakKb, readStatusKb(pid, 'VmRSS'));
  }, 100);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peakKb, readStatusKb(pid, 'VmRSS')) / 1024;
    },
  };
}

const TICK_MS = 10; // USER_HZ is 100 on Linux

/** CPU time (user + system) a process has used so far, in ms; NaN once it is gone. */
export function cpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS; // utime + stime
  } catch {
    return NaN;
  }
}

/** CPU time so far of each of `pids` that is still there, as a Map pid -> ms. */
export function cpuOf(pids) {
  const byPid = new Map();
  for (const pid of pids) {
    const ms = cpuMs(pid);
    if (Number.isFinite(ms)) byPid.set(pid, ms);
  }
  return byPid;
}

/** CPU ms used between two cpuOf() readings, over every pid of the second (a new pid counts from 0). */
export const cpuSince = (before, after) => [...after].reduce((sum, [pid, ms]) => sum + ms - (before.get(pid) ?? 0), 0);

/** Response times in ms, in a growable typed array (a run collects hundreds of thousands). */
export class Latencies {
  constructor() {
    this.values = new Float64Array(1 << 16);
    this.length = 0;
  }
  push(ms) {
    if (this.length === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.length++] = ms;
  }
  static percentiles(parts) {
    const all = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
    let offset = 0;
    for (const p of parts) {
      all.set(p.values.subarray(0, p.length), offset);
      offset += p.length;
    }
    all.sort();
    const at = (q) => (all.length ? all[Math.min(all.length - 1, Math.floor(q * all.length))] : NaN);
    return { p50: at(0.5), p99: at(0.99), max: all.length ? all[all.length - 1] : NaN };
  }
}

/**
 * The runs of one server on one workload (bench/drive.mjs) as one: requests/s over their time,
 * p50/p99 over every response, CPU per response, the peak RSS, and each round's req/s and p50.
 */
export function combine(runs) {
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
