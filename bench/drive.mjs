// One measured run: a workload driven against one server, closed loop (autocannon, as fast as the
// server answers) or at a fixed rate (bench/paced.mjs), with what is read off the server and its
// PostgreSQL backends meanwhile (bench/measure.mjs).
import autocannon from 'autocannon';
import { setTimeout as sleep } from 'node:timers/promises';
import { cpuMs, cpuSince, Latencies, rssSampler } from './measure.mjs';
import { paced } from './paced.mjs';
import { tail } from './processes.mjs';
import { buildRequests } from './workloads.mjs';

/**
 * Drives `server` ({ name, label?, port, child }) with `workload` for `seconds` over `connections`
 * connections: as fast as it answers, or, given `rate`, requests started at that rate. `tokens`:
 * the driven users' (bench/workloads.mjs); `tag`: unique per run, keeps the fresh ext_ids of (b)
 * apart. `backendCpu`, when given, reads the CPU time of the PostgreSQL backends that serve the
 * server's database (a Map pid -> ms); without it, their share is 0 (an embedded engine is inside
 * the server's own process).
 */
export async function drive(server, workload, { seconds, rate, connections, tokens, tag, backendCpu }) {
  if (server.child.exited) throw new Error(`${server.name} is not running:\n${tail(server.child.logFile)}`);
  const dbBefore = backendCpu ? await backendCpu() : new Map();
  const cpuBefore = cpuMs(server.child.pid);
  const stats = { expected: 0, unexpected: {} };
  const requests = buildRequests(workload, tokens, stats, tag);
  const latencies = new Latencies();
  const sampler = rssSampler(server.child.pid);
  let result;
  if (rate) {
    const run = await paced({
      port: server.port,
      connections,
      rate,
      seconds,
      requests,
      onLatency: (ms) => latencies.push(ms),
    });
    result = { duration: run.seconds, errors: run.socketErrors + run.timeouts, timeouts: run.timeouts, late: run.late };
  } else {
    const instance = autocannon({
      url: `http://127.0.0.1:${server.port}`,
      connections,
      duration: seconds,
      timeout: 10,
      requests,
    });
    instance.on('response', (_client, _status, _bytes, ms) => latencies.push(ms));
    result = await instance;
  }
  const peakRssMb = sampler.stop();
  const cpu = cpuMs(server.child.pid) - cpuBefore;
  const dbCpu = backendCpu ? cpuSince(dbBefore, await backendCpu()) : 0;
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

/** Tags for drive(), unique within a run and across runs: `<prefix>-1`, `<prefix>-2`, ... */
export function runTags(prefix = Date.now().toString(36)) {
  let serial = 0;
  return () => `${prefix}-${++serial}`;
}
