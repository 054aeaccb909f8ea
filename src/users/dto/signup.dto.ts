import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsOptional, IsString, Matches, MaxLength, ValidateIf } from 'class-validator';
import { IsEmailAddress, IsNewExtId, IsOmittable } from '../../common/validation/decorators';
import { OPENAPI_NEW_EXT_ID_INPUT, OPENAPI_ROLE_DESCRIPTION as ROLE_DESCRIPTION } from '../../openapi/schemas';
import { USER_ROLES, UserRole } from '../user.entity';

const USERNAME_MESSAGE = 'username must be 1 to 150 characters: letters, digits and @ . + - _';

/** Body of POST /api/v2/sso/signup/ (and the CLI's users:create). */
@ApiSchema({ name: 'SignupRequest', description: 'A new user. Unknown fields are a 400.' })
export class SignupDto {
  @ApiProperty({
    type: 'string',
    pattern: '^[\\w.@+-]{1,150}$',
    minLength: 1,
    maxLength: 150,
    description: 'Unique; letters, digits and @ . + - _',
    example: 'jane.doe',
  })
  @IsString({ message: USERNAME_MESSAGE })
  @Matches(/^[\w.@+-]{1,150}$/u, { message: USERNAME_MESSAGE })
  username!: string;

  @ApiPropertyOptional({
    ...OPENAPI_NEW_EXT_ID_INPUT,
    nullable: true,
    description: "The user's id in the community platform, if any (string, or a non-negative integer)",
  })
  @IsOptional()
  @ValidateIf((_object, value) => value !== null)
  @IsNewExtId()
  ext_id?: string | null;

  @ApiPropertyOptional({
    type: 'string',
    // Internationalised addresses too (a UTF-8 local part, an IDN domain), as validator.js's isEmail accepts them.
    format: 'idn-email',
    maxLength: 254,
    nullable: true,
    example: 'jane.doe@example.com',
  })
  @IsOptional()
  @ValidateIf((_object, value) => value !== null)
  @IsString({ message: 'email must be a valid email address' })
  @MaxLength(254, { message: 'email must be a valid email address' })
  @IsEmailAddress({ message: 'email must be a valid email address' })
  email?: string | null;

  @ApiPropertyOptional({
    enum: USER_ROLES,
    enumName: 'UserRole',
    nullable: true,
    description: ROLE_DESCRIPTION,
  })
  @IsOptional()
  @ValidateIf((_object, value) => value !== null)
  @IsIn(USER_ROLES, { message: `role must be one of ${USER_ROLES.join(', ')}, or null` })
  role?: UserRole | null;

  @ApiPropertyOptional({
    type: 'boolean',
    default: true,
    description: 'False for users who can only sign in through a provider: they may not remove their last association',
  })
  @IsOmittable()
  @IsBoolean({ message: 'has_usable_password must be a boolean' })
  has_usable_password?: boolean;
}
