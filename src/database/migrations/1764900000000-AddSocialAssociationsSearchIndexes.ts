import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The admin search of every association (GET /api/v2/social-associations/), newest
 * first by (created_at, id), with its filters: one index per filter that can lead.
 * `user_id` is served by ix_social_associations_user_id_id (a user holds at most
 * MAX_ASSOCIATIONS_PER_USER), `provider` + `ext_id` by the unique index. `ext_id` in
 * the "C" collation serves an exact `ext_id` without a provider and `ext_id_prefix`
 * as a byte range, whatever the database's own collation.
 */
export class AddSocialAssociationsSearchIndexes1764900000000 implements MigrationInterface {
  name = 'AddSocialAssociationsSearchIndexes1764900000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'CREATE INDEX ix_social_associations_created_at_id ON social_associations (created_at, id)',
    );
    await queryRunner.query(
      'CREATE INDEX ix_social_associations_provider_created_at_id ON social_associations (provider, created_at, id)',
    );
    await queryRunner.query(
      'CREATE INDEX ix_social_associations_ext_id_c ON social_associations ((ext_id COLLATE "C"))',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX ix_social_associations_ext_id_c');
    await queryRunner.query('DROP INDEX ix_social_associations_provider_created_at_id');
    await queryRunner.query('DROP INDEX ix_social_associations_created_at_id');
  }
}
