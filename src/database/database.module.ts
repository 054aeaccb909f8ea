import { DynamicModule, Global, Injectable, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource, TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { DatabaseConnection, openDatabase, OpenDatabaseOptions } from './database-connection';
import { buildDataSourceOptions } from './data-source-options';
import { PreparedStatements } from './prepared-statements';
import { TransactionRunner } from './transactions';

/**
 * Closes the pool, then the database it talks to (the embedded engine, when
 * this process runs it): in that order, whichever of the two modules' shutdown
 * hooks Nest calls first.
 */
@Injectable()
class DatabaseShutdown implements OnApplicationShutdown {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly connection: DatabaseConnection,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
    await this.connection.close();
  }
}

@Global()
@Module({})
export class DatabaseModule {
  /** `options`: how the process opens the embedded engine (see OpenDatabaseOptions). */
  static forRoot(options: Omit<OpenDatabaseOptions, 'onEngineError'>): DynamicModule {
    const connectionModule: DynamicModule = {
      module: class DatabaseConnectionModule {},
      providers: [
        {
          provide: DatabaseConnection,
          inject: [AppConfig],
          useFactory: (config: AppConfig) =>
            openDatabase(config.db, {
              ...options,
              onEngineError: (error) => new Logger('EmbeddedPostgres').error(error),
            }),
        },
      ],
      exports: [DatabaseConnection],
    };
    return {
      module: DatabaseModule,
      imports: [
        connectionModule,
        TypeOrmModule.forRootAsync({
          imports: [connectionModule],
          inject: [AppConfig, DatabaseConnection],
          useFactory: (config: AppConfig, connection: DatabaseConnection) => ({
            ...buildDataSourceOptions(config, connection),
            migrationsRun: config.db.migrationsRun,
            retryAttempts: 3,
            retryDelay: 1000,
          }),
        }),
      ],
      providers: [TransactionRunner, PreparedStatements, DatabaseShutdown],
      exports: [TransactionRunner, PreparedStatements, connectionModule],
    };
  }
}
