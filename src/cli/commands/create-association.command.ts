import { Command, CommandRunner, Option } from 'nest-commander';
import { validateInput } from '../../common/validation/validate-input';
import { IdParamDto } from '../../common/validation/id-param.dto';
import { CreateSocialAssociationDto } from '../../social-associations/dto/create-social-association.dto';
import { SocialAssociationService } from '../../social-associations/social-association.service';
import { printJson } from '../output';

interface CreateAssociationOptions {
  userId?: string;
  provider?: string;
  extId?: string;
  profileUrl?: string;
  showInProfile?: boolean;
}

@Command({ name: 'associations:create', description: 'Link an external identity to a user; prints it as JSON' })
export class CreateAssociationCommand extends CommandRunner {
  constructor(private readonly socialAssociations: SocialAssociationService) {
    super();
  }

  async run(_args: string[], options: CreateAssociationOptions): Promise<void> {
    const { id } = await validateInput(IdParamDto, { id: options.userId });
    const input = await validateInput(CreateSocialAssociationDto, {
      provider: options.provider,
      ext_id: options.extId,
      profile_url: options.profileUrl,
      show_in_profile: options.showInProfile,
    });
    printJson(await this.socialAssociations.link(null, id, input, null));
  }

  @Option({ flags: '--user-id <id>', required: true })
  parseUserId(value: string): string {
    return value;
  }

  @Option({ flags: '--provider <provider>', description: 'e.g. google, keycloak, azure-ad', required: true })
  parseProvider(value: string): string {
    return value;
  }

  @Option({ flags: '--ext-id <extId>', description: 'the user id at the provider', required: true })
  parseExtId(value: string): string {
    return value;
  }

  @Option({ flags: '--profile-url <url>' })
  parseProfileUrl(value: string): string {
    return value;
  }

  @Option({ flags: '--show-in-profile' })
  parseShowInProfile(): boolean {
    return true;
  }
}
