import { Command, CommandRunner, Option } from 'nest-commander';
import { validateInput } from '../../common/validation/validate-input';
import { SignupDto } from '../../users/dto/signup.dto';
import { UsersService } from '../../users/users.service';
import { printJson } from '../output';

interface CreateUserOptions {
  username?: string;
  role?: string;
  email?: string;
  extId?: string;
  password: boolean;
}

@Command({ name: 'users:create', description: 'Create a user; prints it as JSON' })
export class CreateUserCommand extends CommandRunner {
  constructor(private readonly users: UsersService) {
    super();
  }

  async run(_args: string[], options: CreateUserOptions): Promise<void> {
    const input = await validateInput(SignupDto, {
      username: options.username,
      role: options.role,
      email: options.email,
      ext_id: options.extId,
      has_usable_password: options.password,
    });
    printJson(await this.users.signup(input));
  }

  @Option({ flags: '--username <username>', description: 'unique username', required: true })
  parseUsername(value: string): string {
    return value;
  }

  @Option({ flags: '--role <role>', description: 'admin, moderator or editor' })
  parseRole(value: string): string {
    return value;
  }

  @Option({ flags: '--email <email>' })
  parseEmail(value: string): string {
    return value;
  }

  @Option({ flags: '--ext-id <extId>', description: 'the user id in the community platform' })
  parseExtId(value: string): string {
    return value;
  }

  @Option({ flags: '--no-password', description: 'the user has no usable password (sign-in through providers only)' })
  parsePassword(value: boolean): boolean {
    return value;
  }
}
