import { NestFactory } from '@nestjs/core';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Logger } from 'pino';
import { AppModule } from './app.module';
import { configureApp, createFastifyAdapter } from './app.setup';
import { PinoNestLogger } from './common/logging/logger';
import { AppConfig } from './config/app-config';
import { DatabaseConnection } from './database/database-connection';
import { OPENAPI_UI_PATH } from './openapi/openapi';

/** Creates the application, as the e2e tests do (configureApp), and serves it until a signal stops it. */
export async function serve(config: AppConfig, logger: Logger, shutdownDeadlineMs: number): Promise<void> {
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config),
    createFastifyAdapter(config, logger),
    // abortOnError off: a failed start-up is thrown to main.ts, which logs it, instead of process.abort().
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
      }, shutdownDeadlineMs).unref();
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
