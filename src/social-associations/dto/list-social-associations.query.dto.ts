import { IsOptional } from 'class-validator';
import { IsExtId, IsId, IsProviderSlug } from '../../common/validation/decorators';

/**
 * Query of GET /api/v2/user/provider/: `user_id` lists a user's associations,
 * `provider` + `ext_id` resolves an identity (admins), neither lists the caller's own.
 */
export class ListSocialAssociationsQueryDto {
  @IsOptional()
  @IsId('user_id')
  user_id?: number;

  @IsOptional()
  @IsProviderSlug()
  provider?: string;

  @IsOptional()
  @IsExtId()
  ext_id?: string;
}
