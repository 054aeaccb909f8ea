import { Body, Controller, Get, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Caller } from '../auth/caller';
import { AdminOnly, Authenticated, CurrentUser } from '../auth/decorators';
import { OPENAPI_TAGS } from '../openapi/openapi';
import { SignupDto } from './dto/signup.dto';
import { UserDto } from './dto/user.dto';
import { ApiGetCurrentUser, ApiSignupUser } from './users.openapi';
import { UsersService } from './users.service';

/** Provisioning, so the service is usable without a shell. Documentation: users.openapi.ts. */
@ApiTags(OPENAPI_TAGS.users)
@Controller('api/v2')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Post('sso/signup')
  @AdminOnly()
  @ApiSignupUser()
  signupUser(@Body() input: SignupDto): Promise<UserDto> {
    return this.users.signup(input);
  }

  @Get('user/me')
  @Authenticated()
  @ApiGetCurrentUser()
  getCurrentUser(@CurrentUser() caller: Caller): Promise<UserDto> {
    return this.users.me(caller.id);
  }
}
