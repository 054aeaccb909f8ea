import '../compile-cache';
import 'reflect-metadata';
import { CommandFactory } from 'nest-commander';
import { createLogger, PinoNestLogger } from '../common/logging/logger';
import { AppConfig, loadAppConfig } from '../config/app-config';
import { ensureDevelopmentSecret } from '../config/development-secret';
import { CliModule } from './cli.module';

function fail(message: string): never {
  process.stderr.write(`error: ${message}\n`);
  process.exit(1);
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

async function main(): Promise<void> {
  let config: AppConfig;
  try {
    ensureDevelopmentSecret(process.env);
    config = loadAppConfig(process.env);
  } catch (error) {
    fail(messageOf(error));
  }
  // Logs on stderr, so stdout carries only the command's JSON line.
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, 2);
  let failure: unknown;
  try {
    await CommandFactory.run(CliModule.forRoot(config), {
      logger: new PinoNestLogger(logger),
      // A failed start-up (the database) is thrown, not process.abort().
      abortOnError: false,
      // Usage errors: thrown, so that the application still closes (and with it an embedded database it opened).
      errorHandler: (error) => {
        throw error;
      },
      serviceErrorHandler: (error) => {
        failure = error;
      },
    });
  } catch (error) {
    // --help and --version end through the same path, with exit code 0.
    if ((error as { exitCode?: unknown }).exitCode !== 0) failure = error;
  }
  if (failure !== undefined) fail(messageOf(failure));
}

void main();
