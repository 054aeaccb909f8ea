import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { AuditAction, AuditEvent } from './audit-event.entity';

export interface AuditRecord {
  actorUserId: number | null;
  action: AuditAction;
  targetUserId: number;
  provider: string;
  extId: string;
  requestId: string | null;
}

/**
 * Writes audit events. It takes the caller's transaction manager: the event
 * commits or rolls back with the change it describes, so neither exists alone.
 */
@Injectable()
export class AuditService {
  async record(manager: EntityManager, record: AuditRecord): Promise<void> {
    await manager.insert(AuditEvent, record);
  }
}
