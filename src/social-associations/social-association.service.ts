import { ForbiddenException, Injectable, UnauthorizedException } from '@nestjs/common';
import { AuditRecord, AuditService } from '../audit/audit.service';
import { Caller } from '../auth/caller';
import { DomainError } from '../common/errors/domain-error';
import { AppConfig } from '../config/app-config';
import { isUniqueViolation } from '../database/database-errors';
import { TransactionRunner } from '../database/transactions';
import { UsersRepository } from '../users/users.repository';
import { CreateBodyUserSocialAssociationDto } from './dto/create-body-user-social-association.dto';
import { CreateSocialAssociationDto, MAX_METADATA_BYTES } from './dto/create-social-association.dto';
import { DeleteSocialAssociationDto } from './dto/delete-social-association.dto';
import { ListSocialAssociationsQueryDto } from './dto/list-social-associations.query.dto';
import { UserExternalProviderDto } from './dto/user-external-provider.dto';
import { toUserExternalProviderDto } from './social-association.mapper';
import { AssociationRow, SocialAssociationsRepository } from './social-associations.repository';

/** The provider whose identities carry free-form metadata instead of a public profile. */
export const EXTERNAL_PROVIDER = 'external';

/** Who is acting: an authenticated caller, or the operator CLI (null). */
export type Actor = Caller | null;

@Injectable()
export class SocialAssociationService {
  constructor(
    private readonly associations: SocialAssociationsRepository,
    private readonly users: UsersRepository,
    private readonly audit: AuditService,
    private readonly transactions: TransactionRunner,
    private readonly config: AppConfig,
  ) {}

  /** POST /user/provider/: the user comes from the body (where its DTO requires it). */
  linkForBodyUser(
    caller: Caller,
    input: CreateBodyUserSocialAssociationDto,
    requestId: string,
  ): Promise<UserExternalProviderDto> {
    return this.link(caller, input.user_id, input, requestId);
  }

  /** Links an external identity to a user. 409 when the identity is linked already, to anyone. */
  async link(
    actor: Actor,
    userId: number,
    input: CreateSocialAssociationDto,
    requestId: string | null,
  ): Promise<UserExternalProviderDto> {
    assertBodyUserMatches(userId, input.user_id);
    this.assertProviderAllowed(input.provider);
    assertFieldRules(input);
    // The caller's own row was read moments ago to authenticate them; for anyone else
    // (admins, the CLI) the check comes first, so a missing user is a 404 even when the
    // identity is also taken. A user deleted in between still ends as a 404 (foreign key).
    if (actor?.id !== userId) await this.assertUserExists(userId);
    const audit: AuditRecord = {
      actorUserId: actor?.id ?? null,
      action: 'social_association.created',
      targetUserId: userId,
      provider: input.provider,
      extId: input.ext_id,
      requestId,
    };
    const maxPerUser = this.config.maxAssociationsPerUser;
    let created: AssociationRow | null;
    try {
      created = await this.associations.insertAudited(
        {
          userId,
          provider: input.provider,
          extId: input.ext_id,
          profileUrl: input.profile_url ?? null,
          metadata: input.metadata == null ? null : JSON.stringify(input.metadata),
          showInProfile: input.show_in_profile ?? false,
        },
        audit,
        maxPerUser,
      );
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new DomainError('already_linked', `This ${input.provider} identity is already linked to a user`);
      }
      throw error;
    }
    if (created) return toUserExternalProviderDto(created);
    // Nothing inserted: the user holds the most allowed, or does not exist (deleted meanwhile).
    if (!(await this.users.exists(userId))) throw new DomainError('not_found', `User ${userId} does not exist`);
    throw new DomainError(
      'too_many_associations',
      `User ${userId} already holds ${maxPerUser} associations, the most allowed: unlink one first`,
    );
  }

  /**
   * Unlinks one identity of a user, in one transaction with its audit event.
   * A non-admin without a usable password may not remove their last one: that
   * decision is made under the user's row lock, so parallel deletes cannot
   * together remove every sign-in method.
   */
  async unlink(caller: Caller, userId: number, target: DeleteSocialAssociationDto, requestId: string): Promise<void> {
    assertBodyUserMatches(userId, target.user_id);
    // Non-admins reach this only for themselves (SelfOrAdminGuard), so they exist.
    if (caller.isAdmin) await this.assertUserExists(userId);
    const audit: AuditRecord = {
      actorUserId: caller.id,
      action: 'social_association.deleted',
      targetUserId: userId,
      provider: target.provider,
      extId: target.ext_id,
      requestId,
    };
    const notFound = () =>
      new DomainError('not_found', `User ${userId} has no ${target.provider} association with this ext_id`);

    if (caller.isAdmin || caller.hasUsablePassword) {
      // The common case: one atomic statement decides 204 or 404.
      if (!(await this.associations.deleteAudited(userId, target.provider, target.ext_id, audit))) throw notFound();
      return;
    }
    await this.transactions.run(async (manager) => {
      await this.users.lockForUpdate(manager, userId);
      const remaining = await this.associations.deleteCounted(manager, userId, target.provider, target.ext_id);
      if (remaining === null) throw notFound();
      if (remaining === 0) {
        throw new DomainError(
          'last_sign_in_method',
          'This is your last sign-in method and your account has no password: set a password or link another identity first',
        );
      }
      await this.audit.record(manager, audit);
    });
  }

  /**
   * A user's associations, oldest first. The user and admins see all of them;
   * anyone else (anonymous included) only those shown in the profile, without metadata.
   */
  async listForUser(caller: Caller | undefined, userId: number): Promise<UserExternalProviderDto[]> {
    if (caller?.id === userId) {
      return (await this.associations.listOwn(userId)).map((association) => toUserExternalProviderDto(association));
    }
    const full = caller?.isAdmin === true;
    const associations = await this.associations.listForUser(userId, !full);
    if (associations === null) throw new DomainError('not_found', `User ${userId} does not exist`);
    return associations.map((association) => toUserExternalProviderDto(association, full ? 'full' : 'public'));
  }

  /**
   * GET /user/provider/: `provider` + `ext_id` resolves an identity (admins only:
   * "which user is this Google account?"), `user_id` lists that user's, neither the caller's own.
   */
  async listOrResolve(
    caller: Caller | undefined,
    query: ListSocialAssociationsQueryDto,
  ): Promise<UserExternalProviderDto[]> {
    // The DTO lets neither `provider` nor `ext_id` come alone, nor with `user_id`.
    if (query.provider !== undefined && query.ext_id !== undefined) {
      if (!caller) throw new UnauthorizedException('Resolving an identity requires authentication');
      if (!caller.isAdmin) throw new ForbiddenException('Resolving an identity requires the admin role');
      const association = await this.associations.findByIdentity(query.provider, query.ext_id);
      return association ? [toUserExternalProviderDto(association)] : [];
    }
    if (query.user_id !== undefined) return this.listForUser(caller, query.user_id);
    if (!caller) throw new UnauthorizedException('Listing your own associations requires authentication');
    return this.listForUser(caller, caller.id);
  }

  private assertProviderAllowed(provider: string): void {
    assertProviderAllowed(this.config.allowedProviders, provider);
  }

  private async assertUserExists(userId: number): Promise<void> {
    if (!(await this.users.exists(userId))) throw new DomainError('not_found', `User ${userId} does not exist`);
  }
}

function assertBodyUserMatches(pathUserId: number, bodyUserId: number | undefined): void {
  if (bodyUserId !== undefined && bodyUserId !== pathUserId) {
    throw new DomainError('user_id_mismatch', 'user_id in the body must equal the user id in the path', 'user_id');
  }
}

/** PROVIDERS: the providers a new association may use (null: any valid slug). */
export function assertProviderAllowed(allowed: readonly string[] | null, provider: string): void {
  if (allowed && !allowed.includes(provider)) {
    throw new DomainError('provider_not_allowed', `provider must be one of: ${allowed.join(', ')}`, 'provider');
  }
}

/** The contract's cross-field rules of the resource (also checked by the bulk import). */
export function assertFieldRules(input: CreateSocialAssociationDto): void {
  const external = input.provider === EXTERNAL_PROVIDER;
  if (external && input.profile_url != null) {
    throw new DomainError('invalid_field', 'profile_url is not allowed for the external provider', 'profile_url');
  }
  if (!external && input.metadata != null) {
    throw new DomainError('invalid_field', 'metadata is only allowed for the external provider', 'metadata');
  }
  if (external && input.show_in_profile === true) {
    throw new DomainError(
      'invalid_field',
      'show_in_profile cannot be true for the external provider',
      'show_in_profile',
    );
  }
  if (input.metadata != null && Buffer.byteLength(JSON.stringify(input.metadata)) > MAX_METADATA_BYTES) {
    throw new DomainError('invalid_field', 'metadata must be at most 16 KiB when serialized', 'metadata');
  }
}
