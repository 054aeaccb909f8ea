import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, Repository } from 'typeorm';
import { SocialAssociation } from './social-association.entity';

export type NewSocialAssociation = Pick<
  SocialAssociation,
  'userId' | 'provider' | 'extId' | 'profileUrl' | 'metadata' | 'showInProfile'
>;

/** Every query on `social_associations`. Writes take the caller's transaction manager. */
@Injectable()
export class SocialAssociationsRepository {
  constructor(@InjectRepository(SocialAssociation) private readonly associations: Repository<SocialAssociation>) {}

  /** Oldest first (the index `(user_id, id)` serves it). */
  listForUser(userId: number, onlyPublic: boolean): Promise<SocialAssociation[]> {
    return this.associations.find({
      where: onlyPublic ? { userId, showInProfile: true } : { userId },
      order: { id: 'ASC' },
    });
  }

  findByIdentity(provider: string, extId: string): Promise<SocialAssociation | null> {
    return this.associations.findOneBy({ provider, extId });
  }

  /** Inserts; a taken (provider, ext_id) surfaces as the unique index's violation. */
  async insert(manager: EntityManager, association: NewSocialAssociation): Promise<SocialAssociation> {
    return manager.save(manager.create(SocialAssociation, association));
  }

  /**
   * One conditional DELETE: its affected-row count decides between "gone" and
   * "not found", so two concurrent deletes cannot both succeed.
   */
  async deleteForUser(manager: EntityManager, userId: number, provider: string, extId: string): Promise<boolean> {
    const result = await manager.delete(SocialAssociation, { userId, provider, extId });
    return (result.affected ?? 0) > 0;
  }

  countForUser(manager: EntityManager, userId: number): Promise<number> {
    return manager.countBy(SocialAssociation, { userId });
  }
}
