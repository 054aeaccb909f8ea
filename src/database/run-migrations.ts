import { AppConfig } from '../config/app-config';
import { OwnedDataSource } from './data-source-options';

/**
 * Applies the pending migrations once, outside Nest, then closes the connection:
 * the same DataSource definition and the same TypeORM runner as the app's own
 * start-up (`migrationsRun`, see DatabaseModule) and `npm run migration:run`.
 * Used by the cluster primary, so its workers can start with migrations off.
 * Returns the names of the migrations it applied.
 */
export async function runPendingMigrations(config: AppConfig): Promise<string[]> {
  const dataSource = await OwnedDataSource.open(config, { shareRunningEngine: false, onEngineError: () => {} });
  try {
    await dataSource.initialize();
    const applied = await dataSource.runMigrations();
    return applied.map((migration) => migration.name);
  } finally {
    await dataSource.destroy();
  }
}
