import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '../audit/audit.module';
import { UsersModule } from '../users/users.module';
import { SocialAssociation } from './social-association.entity';
import { SocialAssociationService } from './social-association.service';
import { SocialAssociationsRepository } from './social-associations.repository';
import { UserProviderController } from './user-provider.controller';

@Module({
  imports: [TypeOrmModule.forFeature([SocialAssociation]), UsersModule, AuditModule],
  controllers: [UserProviderController],
  providers: [SocialAssociationsRepository, SocialAssociationService],
  exports: [SocialAssociationService],
})
export class SocialAssociationsModule {}
