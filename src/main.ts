import './compile-cache';
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { setFlagsFromString } from 'node:v8';
import type { Logger } from 'pino';
import { AppModule } from './app.module';
import { configureApp, createFastifyAdapter } from './app.setup';
import { isClusterPrimary, runClusterPrimary, withWorkerPid } from './cluster';
import { createLogger, PinoNestLogger } from './common/logging/logger';
import { AppConfig, loadAppConfig } from './config/app-config';
import { InvalidEnvironmentError } from './config/env.schema';
import { DatabaseConnection } from './database/database-connection';
import { OPENAPI_UI_PATH } from './openapi/openapi';

/** Longest a graceful shutdown may take (in-flight requests, closing the database) before the process gives up. */
const SHUTDOWN_DEADLINE_MS = 15_000;

function loadConfigOrExit(): AppConfig {
  try {
    return loadAppConfig(process.env);
  } catch (error) {
    if (error instanceof InvalidEnvironmentError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

async function bootstrap(config: AppConfig, logger: Logger): Promise<void> {
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config),
    createFastifyAdapter(config, logger),
    // abortOnError off: a failed start-up is thrown here and logged below, instead of process.abort().
    { logger: new PinoNestLogger(logger), bodyParser: false, abortOnError: false },
  );
  configureApp(app);
  // configureApp's shutdown hooks do the work (and exit 0); this only bounds how long it may take.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      logger.info({ signal }, 'shutting down: finishing in-flight requests');
      setTimeout(() => {
        logger.error({ signal }, 'shutdown did not finish in time; exiting');
        process.exit(1);
      }, SHUTDOWN_DEADLINE_MS).unref();
    });
  }
  await app.listen(config.http.port, config.http.host);
  const url = await app.getUrl();
  logger.info(
    {
      url,
      docs: `${url}/${OPENAPI_UI_PATH}`,
      database: app.get(DatabaseConnection).description,
      tokens:
        config.jwt.mode === 'jwks'
          ? `jwks (${new URL(config.jwt.jwksUri).host})`
          : `hs256 (secret: ${config.jwt.secretSource})`,
    },
    'social associations service listening',
  );
}

const config = loadConfigOrExit();
// HEAP_GROWING_PERCENT (off by default): V8 lets the old generation grow to up to 4x the
// live heap (~40 MB here) between full GCs, ~270 MB RSS under load; bounded to 25% it stays
// near 155 MB, for ~15% less throughput and twice the p99 (bench/README.md, "Memory").
// V8 reads the flag at every GC, so setting it now works.
if (config.heapGrowingPercent > 0) setFlagsFromString(`--heap-growing-percent=${config.heapGrowingPercent}`);
// CLUSTER_WORKERS > 1: this process forks the workers (src/cluster.ts), each of which serves.
if (isClusterPrimary(config)) {
  void runClusterPrimary(config, createLogger(config.logLevel), SHUTDOWN_DEADLINE_MS);
} else {
  const logger = withWorkerPid(createLogger(config.logLevel));
  bootstrap(config, logger).catch((error: unknown) => {
    // Whatever failed before "listening" (the database, a module, a migration): its message, stack and cause.
    logger.fatal({ err: error }, 'start-up failed');
    process.exit(1);
  });
}
