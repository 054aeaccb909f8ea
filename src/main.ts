import './compile-cache';
import 'reflect-metadata';
import { setFlagsFromString } from 'node:v8';
import { createLogger } from './common/logging/logger';
import { AppConfig, loadAppConfig } from './config/app-config';
import { ensureDevelopmentSecret } from './config/development-secret';
import { InvalidEnvironmentError } from './config/env.schema';

/** Longest a graceful shutdown may take (in-flight requests, closing the database) before the process gives up. */
const SHUTDOWN_DEADLINE_MS = 15_000;

function loadConfigOrExit(): AppConfig {
  try {
    ensureDevelopmentSecret(process.env);
    return loadAppConfig(process.env);
  } catch (error) {
    if (error instanceof InvalidEnvironmentError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

const config = loadConfigOrExit();
// HEAP_GROWING_PERCENT (off by default): V8 lets the old generation grow to up to 4x the
// live heap (~40 MB here) between full GCs, ~270 MB RSS under load; bounded to 25% it stays
// near 155 MB, for ~15% less throughput and twice the p99 (bench/README.md, "Memory").
// V8 reads the flag at every GC, so setting it now works.
if (config.heapGrowingPercent > 0) setFlagsFromString(`--heap-growing-percent=${config.heapGrowingPercent}`);
const logger = createLogger(config.logLevel);

async function start(): Promise<void> {
  // The application's modules are loaded here, not imported above: one that fails to load
  // (a missing package, one built for another Node) is then a start-up failure like any other.
  const { isClusterPrimary, runClusterPrimary, withWorkerPid } = await import('./cluster.js');
  // CLUSTER_WORKERS > 1: this process forks the workers, each of which serves.
  if (isClusterPrimary(config)) return runClusterPrimary(config, logger, SHUTDOWN_DEADLINE_MS);
  const { serve } = await import('./server.js');
  await serve(config, withWorkerPid(logger), SHUTDOWN_DEADLINE_MS);
}

start().catch((error: unknown) => {
  // Whatever failed before "listening" (the database, a module, a migration): its message, stack and cause.
  logger.fatal({ err: error }, 'start-up failed');
  process.exit(1);
});
