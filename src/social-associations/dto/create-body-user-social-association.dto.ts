import { ApiProperty, ApiSchema, OmitType } from '@nestjs/swagger';
import { IsId, IsOmittable } from '../../common/validation/decorators';
import { IsPresent } from '../../common/validation/request-rules';
import { OPENAPI_USER_ID } from '../../openapi/schemas';
import { CreateSocialAssociationDto } from './create-social-association.dto';

/** Body of POST /api/v2/user/provider/: the fields of a new association, and the user, which only the body names. */
@ApiSchema({
  name: 'CreateUserSocialAssociationRequest',
  description: 'A new social association of the user `user_id`. Unknown fields are a 400.',
})
export class CreateBodyUserSocialAssociationDto extends OmitType(CreateSocialAssociationDto, ['user_id'] as const) {
  @ApiProperty({ ...OPENAPI_USER_ID, description: 'The user to link' })
  @IsOmittable()
  @IsId('user_id')
  @IsPresent('user_id is required')
  user_id!: number;
}
