import 'reflect-metadata';
import { CommandFactory } from 'nest-commander';
import { createLogger, PinoNestLogger } from '../common/logging/logger';
import { DomainError } from '../common/errors/domain-error';
import { FieldValidationError } from '../common/errors/problem';
import { AppConfig, loadAppConfig } from '../config/app-config';
import { CliModule } from './cli.module';

function fail(message: string): never {
  process.stderr.write(`error: ${message}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  let config: AppConfig;
  try {
    config = loadAppConfig(process.env);
  } catch (error) {
    fail((error as Error).message);
  }
  // Logs on stderr, so stdout carries only the command's JSON line.
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, 2);
  try {
    await CommandFactory.run(CliModule.forRoot(config), {
      logger: new PinoNestLogger(logger),
      errorHandler: (error) => fail(error.message),
      serviceErrorHandler: (error) => {
        if (error instanceof DomainError || error instanceof FieldValidationError) fail(error.message);
        fail(error instanceof Error ? error.message : String(error));
      },
    });
  } catch (error) {
    fail(error instanceof Error ? error.message : String(error));
  }
}

void main();
