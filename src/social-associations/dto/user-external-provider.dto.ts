import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { OPENAPI_EXT_ID, OPENAPI_PROFILE_URL, OPENAPI_PROVIDER, OPENAPI_USER_ID } from '../../openapi/schemas';

/** The wire shape of a social association ("User External Provider"). */
@ApiSchema({ name: 'UserExternalProvider', description: 'A social association: one identity of a user at a provider.' })
export class UserExternalProviderDto {
  @ApiProperty({ ...OPENAPI_USER_ID, description: 'The user the identity belongs to' })
  user_id!: number;

  @ApiProperty(OPENAPI_PROVIDER)
  provider!: string;

  @ApiProperty({ ...OPENAPI_EXT_ID, description: "The user's id at the provider (always a string in responses)" })
  ext_id!: string;

  @ApiProperty({ ...OPENAPI_PROFILE_URL, nullable: true })
  profile_url!: string | null;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    nullable: true,
    description:
      'Free-form JSON (provider `external` only). Left out for callers who are neither the user nor an admin.',
    example: null,
  })
  metadata?: Record<string, unknown> | null;

  @ApiProperty({ type: 'boolean', description: 'Shown to anyone who lists the user’s associations', example: true })
  show_in_profile!: boolean;
}
