import { Module } from '@nestjs/common';
import { AssociationImportRepository } from './association-import.repository';
import { AssociationImportService } from './association-import.service';

/** The bulk import of associations (the operator CLI's `associations:import`). */
@Module({
  providers: [AssociationImportRepository, AssociationImportService],
  exports: [AssociationImportService],
})
export class AssociationImportModule {}
