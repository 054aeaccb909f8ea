import { AppValidationPipe } from '../../src/common/validation/validation.pipe';

/**
 * The global pipe without its compiled path: class-transformer and class-validator
 * for every input. The reference the compiled path is compared with.
 */
export class FullPathPipe extends AppValidationPipe {
  protected override compiledPathOf(): null {
    return null;
  }
}

/** What the pipe gave: the entity (its class and own fields) or the error (class, fields, message). */
export async function outcome(run: () => Promise<unknown>): Promise<unknown> {
  try {
    const entity = (await run()) as object;
    return { class: entity.constructor.name, fields: { ...entity } };
  } catch (error) {
    return { error: (error as Error).constructor.name, ...(error as object), message: (error as Error).message };
  }
}
