import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
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

/** Thrown when asked to issue a token in JWKS mode, where only the identity provider issues them. */
export class TokenIssuingUnavailableError extends Error {
  constructor() {
    super(
      'tokens can only be issued in the shared-secret (HS256) mode; with JWKS_URI set, access tokens come from the identity provider',
    );
    this.name = 'TokenIssuingUnavailableError';
  }
}

/** Issues access tokens (operator CLI, tests). The service itself never logs users in. */
@Injectable()
export class TokensService {
  private readonly codec: AccessTokenCodec | null;

  constructor(private readonly config: AppConfig) {
    this.codec = config.jwt.mode === 'hs256' ? new AccessTokenCodec(config.jwt) : null;
  }

  /** False in JWKS mode: the identity provider issues the tokens, not us. */
  get canIssue(): boolean {
    return this.codec !== null;
  }

  /** The longest lifetime a token may have and still be accepted (JWT_MAX_LIFETIME_SECONDS). */
  get maxLifetimeSeconds(): number {
    return this.config.jwt.maxLifetimeSeconds;
  }

  issue(userId: number, expiresInSeconds = 3600): string {
    if (!this.codec) throw new TokenIssuingUnavailableError();
    if (expiresInSeconds > this.maxLifetimeSeconds) {
      throw new RangeError(`a token may live at most ${this.maxLifetimeSeconds} s (JWT_MAX_LIFETIME_SECONDS)`);
    }
    return this.codec.sign(userId, expiresInSeconds);
  }
}
