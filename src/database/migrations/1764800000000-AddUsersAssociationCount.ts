import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * How many associations each user holds, kept by the statements that create and
 * delete them (SocialAssociationsRepository): the per-user cap
 * (MAX_ASSOCIATIONS_PER_USER) is checked against it under the user's row lock,
 * in the insert's own statement, so concurrent creates cannot pass it together.
 * Rows written to social_associations by hand must keep it in step.
 */
export class AddUsersAssociationCount1764800000000 implements MigrationInterface {
  name = 'AddUsersAssociationCount1764800000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE users ADD COLUMN association_count integer NOT NULL DEFAULT 0');
    await queryRunner.query(`
      UPDATE users u SET association_count = held.n
        FROM (SELECT user_id, count(*) AS n FROM social_associations GROUP BY user_id) held
       WHERE u.id = held.user_id`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE users DROP COLUMN association_count');
  }
}
