import { IsBoolean, IsEmail, IsIn, IsOptional, IsString, Matches, MaxLength, ValidateIf } from 'class-validator';
import { IsExtId, IsPlainText } from '../../common/validation/decorators';
import { USER_ROLES, UserRole } from '../user.entity';

const USERNAME_MESSAGE = 'username must be 1 to 150 characters: letters, digits and @ . + - _';

/** Body of POST /api/v2/sso/signup/ (and the CLI's users:create). */
export class SignupDto {
  @IsString({ message: USERNAME_MESSAGE })
  @Matches(/^[\w.@+-]{1,150}$/u, { message: USERNAME_MESSAGE })
  username!: string;

  @IsOptional()
  @ValidateIf((_object, value) => value !== null)
  @IsExtId()
  ext_id?: string | null;

  @IsOptional()
  @ValidateIf((_object, value) => value !== null)
  @IsString({ message: 'email must be a valid email address' })
  @MaxLength(254, { message: 'email must be a valid email address' })
  @IsPlainText({ message: 'email must be a valid email address' })
  @IsEmail({}, { message: 'email must be a valid email address' })
  email?: string | null;

  @IsOptional()
  @ValidateIf((_object, value) => value !== null)
  @IsIn(USER_ROLES, { message: `role must be one of ${USER_ROLES.join(', ')}, or null` })
  role?: UserRole | null;

  @IsOptional()
  @IsBoolean({ message: 'has_usable_password must be a boolean' })
  has_usable_password?: boolean;
}
