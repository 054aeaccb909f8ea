import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module';
import { configureApp, createFastifyAdapter } from './app.setup';
import { createLogger, PinoNestLogger } from './common/logging/logger';
import { AppConfig, loadAppConfig } from './config/app-config';
import { InvalidEnvironmentError } from './config/env.schema';

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

async function bootstrap(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger(config.logLevel);
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config),
    createFastifyAdapter(config, logger),
    { logger: new PinoNestLogger(logger), bodyParser: false },
  );
  configureApp(app);
  await app.listen(config.http.port, config.http.host);
  logger.info(
    { url: await app.getUrl(), database: config.db.type, jwtSecret: config.jwt.secretSource },
    'social associations service listening',
  );
}

void bootstrap();
