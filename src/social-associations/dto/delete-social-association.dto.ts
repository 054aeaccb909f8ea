import { IsOptional } from 'class-validator';
import { IsExtId, IsId, IsProviderSlug } from '../../common/validation/decorators';

/**
 * What to unlink: from the JSON body, or from the query string for clients that
 * cannot send a body with DELETE (merged by @DeleteTarget()).
 */
export class DeleteSocialAssociationDto {
  @IsExtId()
  ext_id!: string;

  @IsProviderSlug()
  provider!: string;

  /** Sent by the official client; must equal the path id. */
  @IsOptional()
  @IsId('user_id')
  user_id?: number;
}
