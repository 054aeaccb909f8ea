import { validateInput } from '../../common/validation/validate-input';
import { CreateSocialAssociationDto } from '../dto/create-social-association.dto';

/**
 * A line's fields as a create request's body, by exactly the API's rules: the
 * global pipe itself, whose compiled path (AppValidationPipe) keeps a valid
 * line's check to a few microseconds, which matters for a million lines. A line
 * that is not plainly valid gets the API's error.
 */
export function validateCreateLine(input: Record<string, unknown>): Promise<CreateSocialAssociationDto> {
  return validateInput(CreateSocialAssociationDto, input);
}
