import { plainToInstance } from 'class-transformer';
import { compileValidityCheck, validatedProperties } from '../../common/validation/compiled-validity-check';
import { compileFlatTransform } from '../../common/validation/flat-transform';
import { validateInput } from '../../common/validation/validate-input';
import {
  AppValidationPipe,
  MAX_INPUT_DEPTH,
  MAX_INPUT_FIELDS,
  nestsDeeperThan,
} from '../../common/validation/validation.pipe';
import { CreateSocialAssociationDto } from '../dto/create-social-association.dto';

/** The global pipe, opened up for its class-transformer options. */
class ImportValidationPipe extends AppValidationPipe {
  readonly flatTransform = compileFlatTransform(
    CreateSocialAssociationDto,
    validatedProperties(CreateSocialAssociationDto),
    this.transformOptions,
  );

  toEntity(input: Record<string, unknown>): CreateSocialAssociationDto {
    return this.flatTransform?.(input) ?? plainToInstance(CreateSocialAssociationDto, input, this.transformOptions);
  }
}

const pipe = new ImportValidationPipe();
const isValid = compileValidityCheck(CreateSocialAssociationDto);

/**
 * A line's fields as a create request's body, by exactly the API's rules. A
 * line is turned into the DTO as the pipe turns a body (class-transformer, or
 * its equivalent for flat lines: compileFlatTransform) and checked by the DTO's
 * own validators, compiled (compileValidityCheck). Both are several times
 * cheaper than the pipe's calls, which matters for a million lines. A line
 * that is not plainly valid goes through validateInput (the pipe itself),
 * whose error is then the API's.
 */
export async function validateCreateLine(input: Record<string, unknown>): Promise<CreateSocialAssociationDto> {
  if (isValid && Object.keys(input).length <= MAX_INPUT_FIELDS && !nestsDeeperThan(input, MAX_INPUT_DEPTH)) {
    const entity = pipe.toEntity(input);
    if (isValid(entity) === true) return entity;
  }
  return validateInput(CreateSocialAssociationDto, input);
}
