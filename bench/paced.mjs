// A fixed-rate (open-loop) load for the scale phase: requests start at evenly spaced
// times, whether or not earlier ones have finished, over a fixed set of keep-alive
// connections (round robin, one request at a time on each, as autocannon does). Below
// saturation almost every request finds the server idle, so its latency is the time the
// service takes for it, not the time it waited behind the others.
//
// Why not autocannon's own rate limit (`overallRate`): it gives each connection a budget
// per second and spends it back to back from the start of each second, so all connections
// fire at once (at 800 req/s over 50 connections, ~90% of a second's requests leave in
// its first 100 ms): p50 then still measures a queue of 50.
//
// It runs the same `requests` arrays as autocannon (bench/workloads.mjs): each entry's
// setupRequest(req, context) and onResponse(status, body, context, headers). One pass over
// the array is a sequence, run on one connection; in (b) a POST and its DELETE are one
// sequence and two requests, so `rate` counts requests.
import http from 'node:http';

/**
 * Drives 127.0.0.1:`port` at `rate` requests/s for `seconds`. Calls onLatency(ms) per
 * response (from sending the request to the end of its response). Resolves when every
 * request started has finished, with { completed, seconds, socketErrors, timeouts, late }:
 * `late` counts the requests of sequences that were due while every connection was busy and
 * waited for one (the server did not keep up: the latencies then hold queueing again).
 */
export function paced({ port, connections, rate, seconds, requests, onLatency, timeoutMs = 10_000 }) {
  const conns = Array.from({ length: connections }, () => ({
    agent: new http.Agent({ keepAlive: true, maxSockets: 1 }),
    busy: false,
  }));
  const sequenceRate = rate / requests.length / 1000; // sequences per ms
  const stats = { completed: 0, socketErrors: 0, timeouts: 0, late: 0 };
  let cursor = 0;
  let started = 0;
  let running = 0;
  let waiting = 0; // sequences due while every connection was busy
  let stopped = false;
  let finish;
  const done = new Promise((resolve) => (finish = resolve));
  const t0 = performance.now();
  const end = t0 + seconds * 1000;

  const idleConnection = () => {
    for (let k = 0; k < conns.length; k++) {
      const conn = conns[(cursor + k) % conns.length];
      if (!conn.busy) {
        cursor = (cursor + k + 1) % conns.length;
        return conn;
      }
    }
    return undefined;
  };

  const maybeFinish = () => {
    if (!stopped || running > 0 || waiting > 0) return;
    for (const conn of conns) conn.agent.destroy();
    finish({ ...stats, seconds: (performance.now() - t0) / 1000 });
  };

  const release = (conn) => {
    conn.busy = false;
    running--;
    if (waiting > 0) {
      waiting--;
      start(conn);
    } else {
      maybeFinish();
    }
  };

  const send = (conn, context, index) => {
    if (index === requests.length) return release(conn);
    const entry = requests[index];
    const base = { method: entry.method, path: entry.path ?? '/', headers: { ...entry.headers }, body: entry.body };
    const req = entry.setupRequest ? entry.setupRequest(base, context) : base;
    const headers = { ...req.headers };
    if (req.body !== undefined) headers['content-length'] = Buffer.byteLength(req.body);
    let settled = false;
    const fail = (kind) => {
      if (settled) return;
      settled = true;
      stats[kind]++;
      release(conn);
    };
    const client = http.request({
      host: '127.0.0.1',
      port,
      method: req.method,
      path: req.path,
      headers,
      agent: conn.agent,
    });
    client.setTimeout(timeoutMs, () => {
      fail('timeouts');
      client.destroy();
    });
    client.on('error', () => fail('socketErrors'));
    client.on('response', (res) => {
      res.on('error', () => fail('socketErrors'));
      res.on('end', () => {
        if (settled) return;
        settled = true;
        const ms = performance.now() - sentAt;
        stats.completed++;
        onLatency(ms);
        entry.onResponse?.(res.statusCode, '', context, res.headers);
        send(conn, context, index + 1);
      });
      res.resume();
    });
    const sentAt = performance.now();
    client.end(req.body);
  };

  const start = (conn) => {
    conn.busy = true;
    running++;
    send(conn, {}, 0);
  };

  const tick = () => {
    const now = performance.now();
    if (now >= end) {
      stopped = true;
      return maybeFinish();
    }
    // Sequence k is due at t0 + k / sequenceRate; start every one due by now.
    const due = Math.floor((now - t0) * sequenceRate) + 1;
    for (; started < due; started++) {
      const conn = idleConnection();
      if (conn) {
        start(conn);
      } else {
        waiting++;
        stats.late += requests.length;
      }
    }
    setTimeout(tick, Math.max(0, t0 + started / sequenceRate - performance.now()));
  };
  tick();
  return done;
}
