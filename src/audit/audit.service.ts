import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { AuditEvent } from './audit-event.entity';
import { AuditEventsRepository, AuditRecord } from './audit-events.repository';
import { decodeCursor, encodeCursor } from './audit-cursor';
import { AuditEventDto, AuditEventPageDto } from './dto/audit-event.dto';
import { ListAuditEventsQueryDto } from './dto/list-audit-events.query.dto';

export type { AuditRecord } from './audit-events.repository';

export const DEFAULT_AUDIT_PAGE_SIZE = 50;

/**
 * Audit events for other modules: `record` writes one in the caller's transaction
 * (so the event and the change it describes commit or roll back together), `list`
 * reads them back for admins, newest first, a page at a time.
 */
@Injectable()
export class AuditService {
  constructor(private readonly events: AuditEventsRepository) {}

  record(manager: EntityManager, record: AuditRecord): Promise<void> {
    return this.events.insert(manager, record);
  }

  async list(query: ListAuditEventsQueryDto): Promise<AuditEventPageDto> {
    const { since, until } = query;
    const limit = query.limit ?? DEFAULT_AUDIT_PAGE_SIZE;
    // One more than asked: its presence says whether there is a next page.
    const events = await this.events.list({
      targetUserId: query.user_id,
      provider: query.provider,
      since,
      until,
      beforeId: query.cursor === undefined ? undefined : decodeCursor(query.cursor),
      limit: limit + 1,
    });
    const page = events.slice(0, limit);
    const last = page.at(-1);
    return {
      results: page.map(toAuditEventDto),
      next: events.length > limit && last ? encodeCursor(last.id) : null,
    };
  }
}

function toAuditEventDto(event: AuditEvent): AuditEventDto {
  return {
    id: event.id,
    occurred_at: event.occurredAt.toISOString(),
    actor_user_id: event.actorUserId,
    action: event.action,
    target_user_id: event.targetUserId,
    provider: event.provider,
    ext_id: event.extId,
    request_id: event.requestId,
  };
}
