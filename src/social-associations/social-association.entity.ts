import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { User } from '../users/user.entity';

@Entity({ name: 'social_associations' })
@Index('uq_social_associations_provider_ext_id', ['provider', 'extId'], { unique: true })
@Index('ix_social_associations_user_id_id', ['userId', 'id'])
// The admin search's (migration 1764900000000, which also adds an index on ext_id in the "C" collation).
@Index('ix_social_associations_created_at_id', ['createdAt', 'id'])
@Index('ix_social_associations_provider_created_at_id', ['provider', 'createdAt', 'id'])
export class SocialAssociation {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ name: 'user_id', type: 'integer' })
  userId!: number;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id' })
  user?: User;

  @Column({ type: 'varchar', length: 32 })
  provider!: string;

  @Column({ name: 'ext_id', type: 'varchar', length: 255 })
  extId!: string;

  @Column({ name: 'profile_url', type: 'varchar', length: 2048, nullable: true })
  profileUrl!: string | null;

  /** The serialized JSON object, as the client sent it (text: jsonb would reorder its keys). */
  @Column({ type: 'text', nullable: true })
  metadata!: string | null;

  @Column({ name: 'show_in_profile', type: 'boolean', default: false })
  showInProfile!: boolean;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
