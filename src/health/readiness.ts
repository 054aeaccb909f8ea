import { Injectable } from '@nestjs/common';
import { HealthCheckResult, HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';

/** A probe's answer is reused for this long: a flood of probes costs one database round trip per second. */
export const READINESS_MAX_AGE_MS = 1000;

/**
 * Whether the database answers, from a check at most READINESS_MAX_AGE_MS old.
 * Callers within that time share one check, its failure included (a 503 stays
 * a 503 for up to a second, as a success stays a success).
 */
@Injectable()
export class Readiness {
  private last: { at: number; result: Promise<HealthCheckResult> } | undefined;

  constructor(
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
  ) {}

  check(): Promise<HealthCheckResult> {
    const now = Date.now();
    if (this.last && now - this.last.at < READINESS_MAX_AGE_MS) return this.last.result;
    const result = this.health.check([() => this.database.pingCheck('database', { timeout: 1500 })]);
    // Awaited by this caller; the others that share it within the second await it too.
    result.catch(() => undefined);
    this.last = { at: now, result };
    return result;
  }
}
