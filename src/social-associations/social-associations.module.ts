import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '../audit/audit.module';
import { UsersModule } from '../users/users.module';
import { AssociationDirectoryController } from './association-directory.controller';
import { AssociationDirectoryService } from './association-directory.service';
import { SocialAssociation } from './social-association.entity';
import { SocialAssociationService } from './social-association.service';
import { SocialAssociationsRepository } from './social-associations.repository';
import { UserProviderController } from './user-provider.controller';

@Module({
  imports: [TypeOrmModule.forFeature([SocialAssociation]), UsersModule, AuditModule],
  controllers: [UserProviderController, AssociationDirectoryController],
  providers: [SocialAssociationsRepository, SocialAssociationService, AssociationDirectoryService],
  exports: [SocialAssociationService],
})
export class SocialAssociationsModule {}
