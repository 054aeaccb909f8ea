import { createHmac, createSecretKey, KeyObject, randomUUID, timingSafeEqual } from 'node:crypto';
import { Hs256JwtConfig } from '../config/app-config';
import { checkTimeClaims, userIdFromNumber } from './token-claims';
import { TokenRejectedError, TokenVerifier } from './token-verifier';

export { TokenRejectedError } from './token-verifier';

/** SelfCommunity's access token claims. */
export interface AccessTokenClaims {
  user_id: number;
  token_type: 'access';
  jti: string;
  iat: number;
  exp: number;
  iss?: string;
  aud?: string | string[];
}

/** Longest token we look at; anything longer is refused before any parsing. */
export const MAX_TOKEN_LENGTH = 4096;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

function decodeJsonSegment(segment: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    throw new TokenRejectedError(`token ${what} is not valid JSON`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TokenRejectedError(`token ${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

/**
 * HS256 access tokens, signed and verified with node:crypto and a KeyObject made
 * once (jsonwebtoken re-parses a string secret as a possible PEM key on every
 * verify: see docs/performance notes). Only HS256 is accepted: `none`, RS256 and
 * every other `alg` are refused before the signature is looked at.
 */
export class AccessTokenCodec {
  private readonly key: KeyObject;

  constructor(private readonly config: Hs256JwtConfig) {
    this.key = createSecretKey(Buffer.from(config.secret, 'utf8'));
  }

  sign(userId: number, expiresInSeconds: number, nowSeconds = Math.floor(Date.now() / 1000)): string {
    const header = { alg: 'HS256', typ: 'JWT' };
    const claims: AccessTokenClaims = {
      token_type: 'access',
      exp: nowSeconds + expiresInSeconds,
      iat: nowSeconds,
      jti: randomUUID().replaceAll('-', ''),
      user_id: userId,
      ...(this.config.issuer ? { iss: this.config.issuer } : {}),
      ...(this.config.audience ? { aud: this.config.audience } : {}),
    };
    const signingInput = `${encode(header)}.${encode(claims)}`;
    return `${signingInput}.${this.signature(signingInput).toString('base64url')}`;
  }

  /** Returns the claims of a valid access token; throws TokenRejectedError otherwise. */
  verify(token: string, nowSeconds = Date.now() / 1000): AccessTokenClaims {
    if (token.length > MAX_TOKEN_LENGTH) throw new TokenRejectedError('token is too long');
    const parts = token.split('.');
    if (parts.length !== 3 || !parts.every((part) => BASE64URL.test(part))) {
      throw new TokenRejectedError('token is not a compact JWS');
    }
    const [encodedHeader, encodedPayload, encodedSignature] = parts as [string, string, string];

    const header = decodeJsonSegment(encodedHeader, 'header');
    if (header.alg !== 'HS256') throw new TokenRejectedError('token algorithm is not accepted');
    if (header.crit !== undefined) throw new TokenRejectedError('token has unsupported critical headers');

    const expected = this.signature(`${encodedHeader}.${encodedPayload}`);
    const given = Buffer.from(encodedSignature, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new TokenRejectedError('token signature is invalid');
    }

    const claims = decodeJsonSegment(encodedPayload, 'payload');
    this.checkClaims(claims, nowSeconds);
    return claims as unknown as AccessTokenClaims;
  }

  private checkClaims(claims: Record<string, unknown>, now: number): void {
    checkTimeClaims(claims, now, this.config);
    const { token_type, user_id, iss, aud } = claims;
    if (token_type !== 'access') throw new TokenRejectedError('token is not an access token');
    if (userIdFromNumber(user_id) === undefined) throw new TokenRejectedError('token has no valid user_id');
    if (this.config.issuer !== undefined && iss !== this.config.issuer) {
      throw new TokenRejectedError('token issuer is not accepted');
    }
    if (this.config.audience !== undefined) {
      const audiences = Array.isArray(aud) ? aud : [aud];
      if (!audiences.includes(this.config.audience)) throw new TokenRejectedError('token audience is not accepted');
    }
  }

  private signature(signingInput: string): Buffer {
    return createHmac('sha256', this.key).update(signingInput).digest();
  }
}

/** The shared-secret mode's verifier: synchronous, one HMAC and two JSON.parse per request. */
export class Hs256TokenVerifier extends TokenVerifier {
  constructor(private readonly codec: AccessTokenCodec) {
    super();
  }

  verify(token: string): number {
    return this.codec.verify(token).user_id;
  }
}

function encode(value: object): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}
