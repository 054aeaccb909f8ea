import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { IsExtId, IsId, IsOmittable, IsProviderSlug } from '../../common/validation/decorators';
import { OPENAPI_EXT_ID_INPUT, OPENAPI_PROVIDER, OPENAPI_USER_ID } from '../../openapi/schemas';

/**
 * What to unlink: from the JSON body, or from the query string for clients that
 * cannot send a body with DELETE (merged by @DeleteTarget()).
 */
@ApiSchema({
  name: 'DeleteSocialAssociationRequest',
  description:
    'The association to delete. `ext_id` and `provider` may come from the query string instead; unknown fields are a 400.',
})
export class DeleteSocialAssociationDto {
  @ApiProperty(OPENAPI_EXT_ID_INPUT)
  @IsExtId()
  ext_id!: string;

  @ApiProperty(OPENAPI_PROVIDER)
  @IsProviderSlug()
  provider!: string;

  /** Sent by the official client; must equal the path id. */
  @ApiPropertyOptional({ ...OPENAPI_USER_ID, description: 'Sent by the official client; must equal the path id' })
  @IsOmittable()
  @IsId('user_id')
  user_id?: number;
}
