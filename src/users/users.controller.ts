import { Body, Controller, Get, Post } from '@nestjs/common';
import { Caller } from '../auth/caller';
import { AdminOnly, CurrentUser } from '../auth/decorators';
import { SignupDto } from './dto/signup.dto';
import { UserDto } from './dto/user.dto';
import { UsersService } from './users.service';

/** Provisioning, so the service is usable without a shell. */
@Controller('api/v2')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Post('sso/signup')
  @AdminOnly()
  signupUser(@Body() input: SignupDto): Promise<UserDto> {
    return this.users.signup(input);
  }

  @Get('user/me')
  getCurrentUser(@CurrentUser() caller: Caller): Promise<UserDto> {
    return this.users.me(caller.id);
  }
}
