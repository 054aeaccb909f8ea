import { ApiProperty, ApiSchema } from '@nestjs/swagger';
import { MAX_SEARCH_PAGE_SIZE } from './search-social-associations.query.dto';
import { UserExternalProviderDto } from './user-external-provider.dto';

/** An association as the admin search and the export show it: with when it was linked. */
@ApiSchema({
  name: 'UserExternalProviderWithDate',
  description: 'A social association, with when it was linked (admin search and export).',
})
export class SocialAssociationWithDateDto extends UserExternalProviderDto {
  @ApiProperty({
    type: 'string',
    format: 'date-time',
    description: 'When the identity was linked: UTC, microsecond precision',
    example: '2025-01-31T12:00:00.123456Z',
  })
  created_at!: string;
}

/** One page of the admin search, newest first; `next` is the cursor of the following page, null on the last one. */
@ApiSchema({ name: 'UserExternalProviderPage', description: 'A page of social associations, newest first.' })
export class SocialAssociationPageDto {
  @ApiProperty({ type: [SocialAssociationWithDateDto], maxItems: MAX_SEARCH_PAGE_SIZE })
  results!: SocialAssociationWithDateDto[];

  @ApiProperty({
    type: 'string',
    nullable: true,
    description: 'Pass as `cursor` for the next (older) page, with the same filters; null on the last page',
    example: 'MjAyNS0wMS0zMVQxMjowMDowMC4xMjM0NTZafDQy',
  })
  next!: string | null;
}

@ApiSchema({ name: 'SocialAssociationStats', description: 'How many associations there are, by provider.' })
export class SocialAssociationStatsDto {
  @ApiProperty({
    type: 'integer',
    format: 'int64',
    minimum: 0,
    maximum: Number.MAX_SAFE_INTEGER,
    description: 'Every association',
    example: 3,
  })
  total!: number;

  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'integer', format: 'int64', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
    description: 'Associations per provider; providers with none are left out',
    example: { google: 2, github: 1 },
  })
  by_provider!: Record<string, number>;
}
