import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { validateInput } from '../../common/validation/validate-input';
import { AppValidationPipe, nestsDeeperThan, MAX_INPUT_DEPTH } from '../../common/validation/validation.pipe';
import { CreateSocialAssociationDto } from '../dto/create-social-association.dto';

/** The fields of CreateSocialAssociationDto: a line with any other key takes the pipe's own path. */
const DTO_FIELDS = new Set(['provider', 'ext_id', 'user_id', 'profile_url', 'metadata', 'show_in_profile']);

/**
 * The global pipe with one more entry: whether input is valid, checked
 * synchronously by the same class-validator options (`validatorOptions` of the
 * pipe itself), without the pipe's per-call overhead (~40% of a line's
 * validation time in the import).
 */
class ImportValidationPipe extends AppValidationPipe {
  validEntity(input: Record<string, unknown>): CreateSocialAssociationDto | undefined {
    for (const key in input) if (!DTO_FIELDS.has(key)) return undefined;
    if (nestsDeeperThan(input, MAX_INPUT_DEPTH)) return undefined;
    const entity = plainToInstance(CreateSocialAssociationDto, input, this.transformOptions);
    return validateSync(entity, this.validatorOptions).length === 0 ? entity : undefined;
  }
}

const pipe = new ImportValidationPipe();

/**
 * A line's fields as a create request's body, by exactly the API's rules: a
 * line the validators accept is returned as the pipe would return it; any other
 * goes through validateInput (the pipe itself), whose error is then the API's.
 */
export async function validateCreateLine(input: Record<string, unknown>): Promise<CreateSocialAssociationDto> {
  return pipe.validEntity(input) ?? validateInput(CreateSocialAssociationDto, input);
}
