import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { loadAppConfig } from './src/config/app-config';
import { buildDataSourceOptions } from './src/database/data-source-options';

/** The DataSource the TypeORM CLI uses (`npm run migration:run`), built from the same config as the app. */
export default new DataSource(buildDataSourceOptions(loadAppConfig(process.env)));
