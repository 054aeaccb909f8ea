import { plainToInstance } from 'class-transformer';
import { compileValidityCheck } from '../../common/validation/compiled-validity-check';
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
  toEntity(input: Record<string, unknown>): CreateSocialAssociationDto {
    return plainToInstance(CreateSocialAssociationDto, input, this.transformOptions);
  }
}

const pipe = new ImportValidationPipe();
const isValid = compileValidityCheck(CreateSocialAssociationDto);

/**
 * A line's fields as a create request's body, by exactly the API's rules. A
 * line is turned into the DTO as the pipe turns a body (the same
 * class-transformer call) and checked by the DTO's own validators, compiled
 * (compileValidityCheck: a million lines spend several times less than through
 * validateSync); a line that is not plainly valid goes through validateInput
 * (the pipe itself), whose error is then the API's.
 */
export async function validateCreateLine(input: Record<string, unknown>): Promise<CreateSocialAssociationDto> {
  if (isValid && Object.keys(input).length <= MAX_INPUT_FIELDS && !nestsDeeperThan(input, MAX_INPUT_DEPTH)) {
    const entity = pipe.toEntity(input);
    if (isValid(entity) === true) return entity;
  }
  return validateInput(CreateSocialAssociationDto, input);
}
