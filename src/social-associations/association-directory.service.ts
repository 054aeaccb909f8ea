import { Injectable } from '@nestjs/common';
import { Readable } from 'node:stream';
import { DomainError } from '../common/errors/domain-error';
import { decodeSearchCursor, encodeSearchCursor } from './association-search-cursor';
import {
  AssociationFilterQueryDto,
  SearchSocialAssociationsQueryDto,
} from './dto/search-social-associations.query.dto';
import {
  SocialAssociationPageDto,
  SocialAssociationStatsDto,
  SocialAssociationWithDateDto,
} from './dto/social-association-page.dto';
import { toUserExternalProviderDto } from './social-association.mapper';
import {
  AssociationFilter,
  SearchedAssociationRow,
  SocialAssociationsRepository,
} from './social-associations.repository';

export const DEFAULT_SEARCH_PAGE_SIZE = 50;
/** The stats are recounted at most this often: a dashboard's refreshes share one count of the table. */
export const STATS_MAX_AGE_MS = 5_000;
/** Exports running at once in this process: each holds a pooled connection (and a snapshot) while it streams. */
export const MAX_CONCURRENT_EXPORTS = 2;
/** Longest an export waits for its consumer to ask for more (a client that stopped reading) before it is ended. */
export const EXPORT_STALL_MS = 30_000;

/**
 * Every association across users, for admin dashboards and migrations: a
 * newest-first search a page at a time, counts by provider, and an export of a
 * whole search as one consistent snapshot.
 */
@Injectable()
export class AssociationDirectoryService {
  private stats?: { countedAt: number; counts: Promise<SocialAssociationStatsDto> };
  private runningExports = 0;

  constructor(private readonly associations: SocialAssociationsRepository) {}

  async search(query: SearchSocialAssociationsQueryDto): Promise<SocialAssociationPageDto> {
    const filter = toFilter(query);
    const limit = query.limit ?? DEFAULT_SEARCH_PAGE_SIZE;
    const after = query.cursor === undefined ? undefined : decodeSearchCursor(query.cursor);
    // One more than asked: its presence says whether there is a next page.
    const rows = await this.associations.search(filter, limit + 1, after);
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      results: page.map(toDatedDto),
      next: rows.length > limit && last ? encodeSearchCursor(last) : null,
    };
  }

  /** Exact counts, recounted when the last count is more than STATS_MAX_AGE_MS old; concurrent callers share one. */
  countByProvider(now = Date.now()): Promise<SocialAssociationStatsDto> {
    if (this.stats && now - this.stats.countedAt < STATS_MAX_AGE_MS) return this.stats.counts;
    const counts = this.associations.countByProvider().then((rows) => ({
      total: rows.reduce((sum, row) => sum + row.count, 0),
      by_provider: Object.fromEntries(rows.map((row) => [row.provider, row.count])),
    }));
    const entry = { countedAt: now, counts };
    this.stats = entry;
    // A failed count is not kept: the next caller asks again.
    counts.catch(() => {
      if (this.stats === entry) this.stats = undefined;
    });
    return counts;
  }

  /**
   * The whole search as an NDJSON byte stream (one association, with created_at, a
   * line), newest first, from one snapshot, read at the pace the stream is consumed.
   * Refused with a 429 while MAX_CONCURRENT_EXPORTS run. Destroying the stream (the
   * client went away) ends the query; so does a consumer that has not asked for
   * more for EXPORT_STALL_MS.
   */
  startExport(query: AssociationFilterQueryDto): Readable {
    const filter = toFilter(query);
    if (this.runningExports >= MAX_CONCURRENT_EXPORTS) {
      throw new DomainError(
        'too_many_concurrent_requests',
        `${MAX_CONCURRENT_EXPORTS} exports are running already; retry when one has finished`,
      );
    }
    this.runningExports += 1;
    const stall = setTimeout(
      () => stream.destroy(new Error('export stalled: the client stopped reading')),
      EXPORT_STALL_MS,
    );
    const stream = Readable.from(this.exportLines(filter, stall), { objectMode: false });
    stream.once('close', () => {
      clearTimeout(stall);
      this.runningExports -= 1;
    });
    return stream;
  }

  private async *exportLines(filter: AssociationFilter, stall: NodeJS.Timeout): AsyncGenerator<string> {
    for await (const batch of this.associations.exportBatches(filter)) {
      stall.refresh();
      yield batch.map((row) => `${JSON.stringify(toDatedDto(row))}\n`).join('');
    }
  }
}

function toFilter(query: AssociationFilterQueryDto): AssociationFilter {
  const { created_since: createdSince, created_until: createdUntil } = query;
  return {
    provider: query.provider,
    userId: query.user_id,
    extId: query.ext_id,
    extIdPrefix: query.ext_id_prefix,
    createdSince,
    createdUntil,
  };
}

function toDatedDto(row: SearchedAssociationRow): SocialAssociationWithDateDto {
  return { ...toUserExternalProviderDto(row), created_at: row.createdAt };
}
