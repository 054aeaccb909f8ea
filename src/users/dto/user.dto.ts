import { ApiProperty, ApiSchema } from '@nestjs/swagger';
import { OPENAPI_ROLE_DESCRIPTION, OPENAPI_USER_ID } from '../../openapi/schemas';
import { User, USER_ROLES, UserRole } from '../user.entity';

/** The wire shape of a user. */
@ApiSchema({ name: 'User', description: 'A community user.' })
export class UserDto {
  @ApiProperty(OPENAPI_USER_ID)
  id!: number;

  @ApiProperty({ type: 'string', example: 'jane.doe' })
  username!: string;

  @ApiProperty({ type: 'string', nullable: true, example: null })
  ext_id!: string | null;

  @ApiProperty({ type: 'string', nullable: true, example: 'jane.doe@example.com' })
  email!: string | null;

  @ApiProperty({
    enum: USER_ROLES,
    enumName: 'UserRole',
    nullable: true,
    description: OPENAPI_ROLE_DESCRIPTION,
    example: null,
  })
  role!: UserRole | null;

  @ApiProperty({ type: 'boolean', example: true })
  has_usable_password!: boolean;
}

export function toUserDto(user: User): UserDto {
  return {
    id: user.id,
    username: user.username,
    ext_id: user.extId,
    email: user.email,
    role: user.role,
    has_usable_password: user.hasUsablePassword,
  };
}
