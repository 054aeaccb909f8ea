import { DynamicModule, Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { AppConfig } from '../config/app-config';
import { AppConfigModule } from '../config/config.module';
import { DatabaseModule } from '../database/database.module';
import { AssociationImportModule } from '../social-associations/import/association-import.module';
import { SocialAssociationsModule } from '../social-associations/social-associations.module';
import { UsersModule } from '../users/users.module';
import { CreateAssociationCommand } from './commands/create-association.command';
import { CreateUserCommand } from './commands/create-user.command';
import { ImportAssociationsCommand } from './commands/import-associations.command';
import { IssueTokenCommand } from './commands/issue-token.command';

/** The operator CLI: the same services, repositories and rules as the API. */
@Module({})
export class CliModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: CliModule,
      imports: [
        AppConfigModule.forRoot(config),
        // With the server running on the embedded database, commands go through it.
        DatabaseModule.forRoot({ shareRunningEngine: true }),
        AuthModule,
        UsersModule,
        SocialAssociationsModule,
        AssociationImportModule,
      ],
      providers: [CreateUserCommand, CreateAssociationCommand, IssueTokenCommand, ImportAssociationsCommand],
    };
  }
}
