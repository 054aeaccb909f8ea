import 'reflect-metadata';
import { loadAppConfig } from './src/config/app-config';
import { ensureDevelopmentSecret } from './src/config/development-secret';
import { OwnedDataSource } from './src/database/data-source-options';

/**
 * The DataSource the TypeORM CLI uses (`npm run migration:run`), built from the same
 * config as the app. On the embedded database it goes through the running server
 * when there is one, else it opens the folder itself for the length of the command.
 */
ensureDevelopmentSecret(process.env);
export default OwnedDataSource.open(loadAppConfig(process.env), {
  shareRunningEngine: true,
  onEngineError: (error) => console.error(error),
});
