import { IsBoolean, IsObject, IsOptional, IsString, IsUrl, MaxLength, ValidateIf } from 'class-validator';
import { IsExtId, IsId, IsPlainText, IsProviderSlug } from '../../common/validation/decorators';

/** Body of POST /api/v2/user/{id}/provider/ and POST /api/v2/user/provider/. */
export class CreateSocialAssociationDto {
  @IsExtId()
  ext_id!: string;

  @IsProviderSlug()
  provider!: string;

  /** Required on POST /user/provider/; on the path route it must equal the path id. */
  @IsOptional()
  @IsId('user_id')
  user_id?: number;

  @IsOptional()
  @ValidateIf((_object, value) => value !== null)
  @IsString({ message: 'profile_url must be an absolute http(s) URL of at most 2048 characters' })
  @MaxLength(2048, { message: 'profile_url must be an absolute http(s) URL of at most 2048 characters' })
  @IsPlainText({ message: 'profile_url must be an absolute http(s) URL of at most 2048 characters' })
  @IsUrl(
    { protocols: ['http', 'https'], require_protocol: true, require_tld: false, allow_underscores: true },
    { message: 'profile_url must be an absolute http(s) URL of at most 2048 characters' },
  )
  profile_url?: string | null;

  @IsOptional()
  @ValidateIf((_object, value) => value !== null)
  @IsObject({ message: 'metadata must be a JSON object' })
  metadata?: Record<string, unknown> | null;

  @IsOptional()
  @IsBoolean({ message: 'show_in_profile must be a boolean' })
  show_in_profile?: boolean;
}
