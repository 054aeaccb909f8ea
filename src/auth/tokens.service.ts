import { Injectable } from '@nestjs/common';
import { AccessTokenCodec } from './access-token';

const DURATION = /^(\d+)\s*(s|m|h|d)?$/;
const SECONDS_PER_UNIT = { s: 1, m: 60, h: 3600, d: 86400 } as const;

/** Parses `90`, `30s`, `15m`, `1h`, `7d` into seconds; undefined when malformed or zero. */
export function parseDuration(value: string): number | undefined {
  const match = DURATION.exec(value.trim());
  if (!match) return undefined;
  const seconds = Number(match[1]) * SECONDS_PER_UNIT[(match[2] ?? 's') as keyof typeof SECONDS_PER_UNIT];
  return seconds > 0 && Number.isSafeInteger(seconds) ? seconds : undefined;
}

/** Issues access tokens (operator CLI, tests). The service itself never logs users in. */
@Injectable()
export class TokensService {
  constructor(private readonly codec: AccessTokenCodec) {}

  issue(userId: number, expiresInSeconds = 3600): string {
    return this.codec.sign(userId, expiresInSeconds);
  }
}
