import cluster, { Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { AppConfig } from './config/app-config';
import { runPendingMigrations } from './database/run-migrations';

/** Delay before restarting a worker that died; doubled for each further quick death, up to the maximum. */
const FIRST_RESTART_DELAY_MS = 1000;
const MAX_RESTART_DELAY_MS = 30_000;
/** A worker that lived this long was healthy: its next death restarts after the first delay again. */
const HEALTHY_AFTER_MS = 60_000;
/** How much longer than a worker's own shutdown deadline the primary waits for it before killing it. */
const SHUTDOWN_GRACE_MS = 5000;

/** True in the process that must run the cluster (CLUSTER_WORKERS > 1) rather than serve. */
export function isClusterPrimary(config: AppConfig): boolean {
  return config.cluster.workers > 1 && cluster.isPrimary;
}

/** In a cluster worker, every log line carries the worker's pid, so the workers' interleaved lines can be told apart. */
export function withWorkerPid(logger: Logger): Logger {
  return cluster.isWorker ? logger.child({ pid: process.pid }) : logger;
}

/** How long to wait before restarting a worker after `quickDeaths` earlier deaths of short-lived workers in its slot. */
export function restartDelayMs(quickDeaths: number): number {
  return Math.min(FIRST_RESTART_DELAY_MS * 2 ** quickDeaths, MAX_RESTART_DELAY_MS);
}

interface Slot {
  index: number;
  startedAt: number;
}

/**
 * The primary process of CLUSTER_WORKERS > 1. It serves nothing itself: it applies
 * the pending migrations once (when DATABASE_MIGRATIONS_RUN is on), then forks the
 * workers, which run the normal bootstrap with migrations off and share the port
 * (node:cluster hands out the connections). A worker that dies is restarted after
 * a delay that grows while it keeps dying. SIGTERM/SIGINT is forwarded to every
 * worker, which shuts down gracefully; the primary exits when they all have: 0 if
 * each did so cleanly, 1 otherwise or if they take longer than `workerDeadlineMs`
 * plus a grace period (then they are killed).
 */
export async function runClusterPrimary(config: AppConfig, logger: Logger, workerDeadlineMs: number): Promise<void> {
  const live = new Map<Worker, Slot>();
  const quickDeaths = Array.from({ length: config.cluster.workers }, () => 0);
  const restarts = new Set<NodeJS.Timeout>();
  let stopping: NodeJS.Signals | null = null;
  let forked = false;
  let clean = true;

  const exit = (code: number): never => {
    logger.info({ exit_code: code }, 'cluster stopped');
    process.exit(code);
  };

  const fork = (index: number): void => {
    // The primary has migrated already: N workers must not race on it.
    const worker = cluster.fork({ DATABASE_MIGRATIONS_RUN: 'false' });
    live.set(worker, { index, startedAt: Date.now() });
    logger.info({ worker_pid: worker.process.pid, slot: index }, 'cluster worker started');
  };

  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = signal;
    logger.info({ signal, workers: live.size }, 'cluster shutting down: stopping the workers');
    for (const timer of restarts) clearTimeout(timer);
    restarts.clear();
    setTimeout(() => {
      logger.error({ signal, workers: live.size }, 'cluster did not stop in time; killing the workers');
      for (const worker of live.keys()) worker.process.kill('SIGKILL');
      exit(1);
    }, workerDeadlineMs + SHUTDOWN_GRACE_MS).unref();
    // Still migrating: the migrations finish (or fail) first, then the primary exits without forking.
    if (!forked) return;
    if (live.size === 0) exit(0);
    for (const worker of live.keys()) worker.process.kill(signal);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  cluster.on('exit', (worker, code, signal) => {
    const slot = live.get(worker);
    if (!slot) return;
    live.delete(worker);
    const exited = { worker_pid: worker.process.pid, code, signal };
    if (stopping) {
      // A worker killed by the forwarded signal itself had not yet started serving.
      if (code !== 0 && signal !== stopping) {
        clean = false;
        logger.error(exited, 'cluster worker failed to shut down cleanly');
      }
      if (live.size === 0) exit(clean ? 0 : 1);
      return;
    }
    if (Date.now() - slot.startedAt >= HEALTHY_AFTER_MS) quickDeaths[slot.index] = 0;
    const delay = restartDelayMs(quickDeaths[slot.index]++);
    logger.error({ ...exited, restart_in_ms: delay }, 'cluster worker exited; restarting it');
    const timer = setTimeout(() => {
      restarts.delete(timer);
      fork(slot.index);
    }, delay);
    restarts.add(timer);
  });

  if (config.db.migrationsRun) {
    try {
      const applied = await runPendingMigrations(config);
      logger.info({ migrations: applied }, 'database migrations applied');
    } catch (error) {
      logger.fatal({ err: error }, 'database migrations failed');
      process.exit(1);
    }
  }
  if (stopping) exit(0);
  forked = true;
  for (let index = 0; index < config.cluster.workers; index++) fork(index);
}
