import { Command, CommandRunner, Option } from 'nest-commander';
import { parseDuration, TokenIssuingUnavailableError, TokensService } from '../../auth/tokens.service';
import { DomainError } from '../../common/errors/domain-error';
import { IdParamDto } from '../../common/validation/id-param.dto';
import { validateInput } from '../../common/validation/validate-input';
import { UsersService } from '../../users/users.service';
import { printJson } from '../output';

interface IssueTokenOptions {
  userId?: string;
  expiresIn: string;
}

@Command({ name: 'tokens:issue', description: 'Issue an access token for a user; prints {"token": ...}' })
export class IssueTokenCommand extends CommandRunner {
  constructor(
    private readonly tokens: TokensService,
    private readonly users: UsersService,
  ) {
    super();
  }

  async run(_args: string[], options: IssueTokenOptions): Promise<void> {
    if (!this.tokens.canIssue) throw new TokenIssuingUnavailableError();
    const { id } = await validateInput(IdParamDto, { id: options.userId });
    const expiresIn = parseDuration(options.expiresIn);
    if (expiresIn === undefined) throw new Error('--expires-in must be a duration such as 3600, 30m, 1h or 7d');
    if (expiresIn > this.tokens.maxLifetimeSeconds) {
      throw new Error(
        `--expires-in may be at most ${this.tokens.maxLifetimeSeconds} s: longer-lived tokens are refused (JWT_MAX_LIFETIME_SECONDS)`,
      );
    }
    if (!(await this.users.exists(id))) throw new DomainError('not_found', `User ${id} does not exist`);
    printJson({ token: this.tokens.issue(id, expiresIn), expires_in: expiresIn });
  }

  @Option({ flags: '--user-id <id>', required: true })
  parseUserId(value: string): string {
    return value;
  }

  @Option({ flags: '--expires-in <duration>', description: 'e.g. 3600, 30m, 1h, 7d', defaultValue: '1h' })
  parseExpiresIn(value: string): string {
    return value;
  }
}
