import { Body, Controller, Get, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Caller } from '../auth/caller';
import { AdminOnly, CurrentUser } from '../auth/decorators';
import { SignupDto } from './dto/signup.dto';
import { UserDto } from './dto/user.dto';
import { UsersService } from './users.service';
import { ApiAuth, ApiProblemResponses } from '../openapi/api-responses';
import { OPENAPI_TAGS } from '../openapi/openapi';

/** Provisioning, so the service is usable without a shell. */
@ApiTags(OPENAPI_TAGS.users)
@Controller('api/v2')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Post('sso/signup')
  @AdminOnly()
  @ApiOperation({ summary: 'Create a user', description: 'Auth: admin.' })
  @ApiCreatedResponse({ type: UserDto, description: 'The new user' })
  @ApiProblemResponses({
    400: 'Malformed body',
    401: 'No token, or a token that fails any check',
    403: 'The caller is not an admin',
    409: { description: 'The username is taken', examples: ['username_taken'] },
    413: 'The body is larger than the configured limit',
    415: 'The body is not `application/json`',
  })
  signupUser(@Body() input: SignupDto): Promise<UserDto> {
    return this.users.signup(input);
  }

  @Get('user/me')
  @ApiOperation({ summary: "The caller's own user", description: 'Auth: any authenticated user.' })
  @ApiAuth()
  @ApiOkResponse({ type: UserDto, description: "The caller's record" })
  @ApiProblemResponses({ 401: 'No token, or a token that fails any check' })
  getCurrentUser(@CurrentUser() caller: Caller): Promise<UserDto> {
    return this.users.me(caller.id);
  }
}
