import { AppValidationPipe } from './validation.pipe';

const pipe = new AppValidationPipe();

/** Validates plain input (CLI arguments) exactly as the HTTP layer validates a body. */
export async function validateInput<T extends object>(dto: new () => T, input: Record<string, unknown>): Promise<T> {
  return (await pipe.transform(input, { type: 'body', metatype: dto })) as T;
}
