import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { IsBoolean, IsObject, IsOptional, IsString, IsUrl, MaxLength, ValidateIf } from 'class-validator';
import { IsId, IsNewExtId, IsOmittable, IsPlainText, IsProviderSlug } from '../../common/validation/decorators';
import {
  OPENAPI_NEW_EXT_ID_INPUT,
  OPENAPI_PROFILE_URL,
  OPENAPI_PROVIDER,
  OPENAPI_USER_ID,
} from '../../openapi/schemas';

/** The most bytes `metadata` may take, serialized as JSON (UTF-8). */
export const MAX_METADATA_BYTES = 16 * 1024;

/** Body of POST /api/v2/user/{id}/provider/ (and of the CLI's associations:create). */
@ApiSchema({
  name: 'CreateSocialAssociationRequest',
  description: 'A new social association. Unknown fields are a 400.',
})
export class CreateSocialAssociationDto {
  @ApiProperty(OPENAPI_NEW_EXT_ID_INPUT)
  @IsNewExtId()
  ext_id!: string;

  @ApiProperty(OPENAPI_PROVIDER)
  @IsProviderSlug()
  provider!: string;

  /** Sent by the official client; must equal the path id. */
  @ApiPropertyOptional({ ...OPENAPI_USER_ID, description: 'Sent by the official client; must equal the path id' })
  @IsOmittable()
  @IsId('user_id')
  user_id?: number;

  @ApiPropertyOptional({ ...OPENAPI_PROFILE_URL, nullable: true })
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

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    nullable: true,
    // Implied by the size cap: n properties serialize to at least 6n bytes (`{"":0,"a":0,...}`).
    maxProperties: Math.floor(MAX_METADATA_BYTES / 6),
    ...({ 'x-max-json-bytes': MAX_METADATA_BYTES } as object),
    description:
      'Free-form JSON object, at most 16 KiB (16384 bytes) serialized as UTF-8 JSON (`x-max-json-bytes`, which JSON Schema cannot say; `maxProperties` follows from it); only allowed when provider is `external`',
    example: null,
  })
  @IsOptional()
  @ValidateIf((_object, value) => value !== null)
  @IsObject({ message: 'metadata must be a JSON object' })
  metadata?: Record<string, unknown> | null;

  @ApiPropertyOptional({
    type: 'boolean',
    default: false,
    description: 'Show the association to anyone who lists the user’s associations; must not be true for `external`',
  })
  @IsOmittable()
  @IsBoolean({ message: 'show_in_profile must be a boolean' })
  show_in_profile?: boolean;
}
