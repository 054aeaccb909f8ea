import { CreateSchema1764200000000 } from './1764200000000-CreateSchema';

/** Every migration, oldest first. Listed explicitly so they load the same from src/ and dist/. */
export const migrations = [CreateSchema1764200000000];
