import { ArgumentMetadata, BadRequestException, Injectable, ValidationError, ValidationPipe } from '@nestjs/common';
import type { ValidatorOptions } from 'class-validator';
import { FieldValidationError } from '../errors/problem';
import { compileValidityCheck, validatedProperties, ValidityCheck } from './compiled-validity-check';
import { compileFlatTransform, FlatTransform } from './flat-transform';
import { REQUEST_RULES } from './request-rules';

/** The code a validator names in its context (request rules: `required`, `conflict`), else `invalid`. */
function codeOf(error: ValidationError, constraint: string): string {
  const context = error.contexts?.[constraint] as { code?: unknown } | undefined;
  return typeof context?.code === 'string' ? context.code : 'invalid';
}

function flatten(errors: ValidationError[], parent = ''): { field: string; code: string; message: string }[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.entries(error.constraints ?? {}).map(([constraint, message]) =>
      constraint === 'whitelistValidation'
        ? { field, code: 'unknown_field', message: `${field} is not an accepted field` }
        : { field, code: codeOf(error, constraint), message },
    );
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

/**
 * Most top-level fields accepted in a body or query; no request shape has more
 * than 8. Checked before class-validator, which would build an error per unknown
 * field: 5,000 of them cost 20 times a normal request.
 */
export const MAX_INPUT_FIELDS = 32;

/**
 * Deepest nesting accepted in a body or query. class-transformer recurses once
 * per level and overflows the stack at around 1,500 levels (a 500); nothing in
 * the contract needs more than a few.
 */
export const MAX_INPUT_DEPTH = 64;

/** True when `value` nests objects or arrays deeper than `max` levels (iterative: no recursion to overflow). */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (current === null || typeof current !== 'object') continue;
    if (depth > max) return true;
    for (const child of Object.values(current)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return false;
}

/** A DTO's validation compiled once (see compiledPathOf), for inputs it can decide alone. */
interface CompiledPath {
  toEntity: FlatTransform<object>;
  isValid: ValidityCheck;
}

/**
 * The global pipe: whitelist + forbid unknown fields + transform, with errors in
 * our field format. A body that is not a JSON object (array, string, null, absent)
 * is rejected before class-transformer sees it.
 *
 * A flat input (a path id, a query, the bodies of this API) that its DTO's own
 * validators plainly accept takes a compiled path: the same @Transform functions
 * and the same validators, looked up once per DTO instead of on every call
 * (compileFlatTransform, compileValidityCheck). It gives the instance the full
 * path would give. Anything else, every input with an error included, goes
 * through class-transformer and class-validator, so each error is theirs.
 */
@Injectable()
export class AppValidationPipe extends ValidationPipe {
  /** By DTO class; null when the DTO needs what the compiled path does not run (groups, nesting, ...). */
  private readonly compiledPaths = new WeakMap<object, CompiledPath | null>();

  constructor() {
    super({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      validateCustomDecorators: true,
      stopAtFirstError: true,
      exceptionFactory: (errors) => new FieldValidationError(flatten(errors)),
    });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const isDto = typeof metadata.metatype === 'function' && this.toValidate(metadata);
    if (isDto && (value === null || typeof value !== 'object' || Array.isArray(value))) {
      throw new BadRequestException(
        `The request ${metadata.type === 'body' ? 'body' : metadata.type} must be a JSON object`,
      );
    }
    if (isDto && Object.keys(value as object).length > MAX_INPUT_FIELDS) {
      throw new BadRequestException(
        `The request ${metadata.type === 'query' ? 'query' : 'body'} has more than ${MAX_INPUT_FIELDS} fields`,
      );
    }
    if (isDto && nestsDeeperThan(value, MAX_INPUT_DEPTH)) {
      throw new BadRequestException(
        `The request ${metadata.type === 'query' ? 'query' : 'body'} is nested more than ${MAX_INPUT_DEPTH} levels deep`,
      );
    }
    if (isDto) {
      const compiled = this.compiledPathOf(metadata.metatype as new () => object);
      const entity = compiled?.toEntity(value as Record<string, unknown>);
      if (entity !== undefined && compiled!.isValid(entity) === true) return entity;
    }
    return super.transform(value, metadata);
  }

  /** Protected for the tests, which compare the compiled path with the full one (a subclass answering null). */
  protected compiledPathOf(dto: new () => object): CompiledPath | null {
    let compiled = this.compiledPaths.get(dto);
    if (compiled === undefined) {
      const isValid = compileValidityCheck(dto);
      const toEntity = isValid && compileFlatTransform(dto, validatedProperties(dto), this.transformOptions);
      compiled = isValid && toEntity ? { toEntity, isValid } : null;
      this.compiledPaths.set(dto, compiled);
    }
    return compiled;
  }

  /**
   * Each field's own rules first; the request rules (src/common/validation/request-rules.ts)
   * only once every field is valid, and without the whitelist, which the first pass applied.
   */
  protected override async validate(object: object, options: ValidatorOptions = {}): Promise<ValidationError[]> {
    const fieldErrors = await super.validate(object, { ...options, strictGroups: true });
    if (fieldErrors.length > 0) return fieldErrors;
    return super.validate(object, {
      ...options,
      groups: [REQUEST_RULES],
      whitelist: false,
      forbidNonWhitelisted: false,
      forbidUnknownValues: false,
    });
  }
}
