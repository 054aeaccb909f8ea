import { UserExternalProviderDto } from './dto/user-external-provider.dto';
import { AssociationRow } from './social-associations.repository';

/**
 * The only place entity and wire shape meet. `metadata` is left out of views for
 * callers who are neither the user nor an admin.
 */
export function toUserExternalProviderDto(
  association: AssociationRow,
  view: 'full' | 'public' = 'full',
): UserExternalProviderDto {
  const dto: UserExternalProviderDto = {
    user_id: association.userId,
    provider: association.provider,
    ext_id: association.extId,
    profile_url: association.profileUrl,
    show_in_profile: association.showInProfile,
  };
  if (view === 'full')
    dto.metadata = association.metadata === null ? null : (JSON.parse(association.metadata) as Record<string, unknown>);
  return dto;
}
