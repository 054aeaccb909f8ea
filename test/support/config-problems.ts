import { loadAppConfig } from '../../src/config/app-config';
import { InvalidEnvironmentError } from '../../src/config/env.schema';

/** What loadAppConfig says is wrong with `env`: its problems, or none when it loads. */
export function configProblems(env: Record<string, string>): string[] {
  try {
    loadAppConfig(env);
  } catch (error) {
    if (error instanceof InvalidEnvironmentError) return error.problems;
    throw error;
  }
  return [];
}
