import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional } from 'class-validator';
import { IsExtId, IsId, IsOmittable, IsProviderSlug } from '../../common/validation/decorators';
import { IsNotSiblingOf, IsRequiredWith } from '../../common/validation/request-rules';
import { OPENAPI_EXT_ID, OPENAPI_ID, OPENAPI_PROVIDER, withoutExample } from '../../openapi/schemas';

/**
 * Query of GET /api/v2/user/provider/: `user_id` lists a user's associations,
 * `provider` + `ext_id` resolves an identity (admins), neither lists the caller's own.
 * No example values: each parameter changes what the request means.
 */
export class ListSocialAssociationsQueryDto {
  @ApiPropertyOptional({
    ...OPENAPI_ID,
    description: "List this user's associations (not together with `provider`/`ext_id`)",
  })
  @IsOmittable()
  @IsId('user_id')
  @IsNotSiblingOf(['provider', 'ext_id'], 'Give either user_id, or provider and ext_id, not both')
  user_id?: number;

  @ApiPropertyOptional({
    ...withoutExample(OPENAPI_PROVIDER),
    description: 'With `ext_id`: resolve this external identity (admins only)',
  })
  @IsOptional()
  @IsProviderSlug()
  @IsRequiredWith('ext_id', 'provider is required with ext_id', ['user_id'])
  provider?: string;

  @ApiPropertyOptional({
    ...withoutExample(OPENAPI_EXT_ID),
    description: 'With `provider`: resolve this external identity (admins only)',
  })
  @IsOptional()
  @IsExtId()
  @IsRequiredWith('provider', 'ext_id is required with provider', ['user_id'])
  ext_id?: string;
}
