import { MigrationInterface, QueryRunner } from 'typeorm';

/** Serves the audit log filtered by provider, newest first (keyset on id). */
export class AddAuditEventsProviderIndex1764400000000 implements MigrationInterface {
  name = 'AddAuditEventsProviderIndex1764400000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('CREATE INDEX ix_audit_events_provider_id ON audit_events (provider, id)');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX ix_audit_events_provider_id');
  }
}
