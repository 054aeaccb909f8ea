import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional } from 'class-validator';
import { IsExtId, IsId, IsOmittable, IsProviderSlug } from '../../common/validation/decorators';
import { OPENAPI_EXT_ID, OPENAPI_PROVIDER, OPENAPI_USER_ID } from '../../openapi/schemas';

/**
 * Query of GET /api/v2/user/provider/: `user_id` lists a user's associations,
 * `provider` + `ext_id` resolves an identity (admins), neither lists the caller's own.
 */
export class ListSocialAssociationsQueryDto {
  @ApiPropertyOptional({
    ...OPENAPI_USER_ID,
    description: "List this user's associations (not together with `provider`/`ext_id`)",
  })
  @IsOmittable()
  @IsId('user_id')
  user_id?: number;

  @ApiPropertyOptional({
    ...OPENAPI_PROVIDER,
    description: 'With `ext_id`: resolve this external identity (admins only)',
  })
  @IsOptional()
  @IsProviderSlug()
  provider?: string;

  @ApiPropertyOptional({
    ...OPENAPI_EXT_ID,
    description: 'With `provider`: resolve this external identity (admins only)',
  })
  @IsOptional()
  @IsExtId()
  ext_id?: string;
}
