import { ArgumentMetadata, BadRequestException, Injectable, ValidationError, ValidationPipe } from '@nestjs/common';
import { FieldValidationError } from '../errors/problem';

function flatten(errors: ValidationError[], parent = ''): { field: string; code: string; message: string }[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.entries(error.constraints ?? {}).map(([constraint, message]) =>
      constraint === 'whitelistValidation'
        ? { field, code: 'unknown_field', message: `${field} is not an accepted field` }
        : { field, code: 'invalid', message },
    );
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

/**
 * The global pipe: whitelist + forbid unknown fields + transform, with errors in
 * our field format. A body that is not a JSON object (array, string, null, absent)
 * is rejected before class-transformer sees it.
 */
@Injectable()
export class AppValidationPipe extends ValidationPipe {
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
    return super.transform(value, metadata);
  }
}
