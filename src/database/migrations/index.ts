import { CreateSchema1764200000000 } from './1764200000000-CreateSchema';
import { AddAuditEventsProviderIndex1764400000000 } from './1764400000000-AddAuditEventsProviderIndex';
import { AddUsersAssociationCount1764800000000 } from './1764800000000-AddUsersAssociationCount';
import { AddSocialAssociationsSearchIndexes1764900000000 } from './1764900000000-AddSocialAssociationsSearchIndexes';
import { AddWebhooks1765000000000 } from './1765000000000-AddWebhooks';

/** Every migration, oldest first. Listed explicitly so they load the same from src/ and dist/. */
export const migrations = [
  CreateSchema1764200000000,
  AddAuditEventsProviderIndex1764400000000,
  AddUsersAssociationCount1764800000000,
  AddSocialAssociationsSearchIndexes1764900000000,
  AddWebhooks1765000000000,
];
