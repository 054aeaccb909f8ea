import { MAX_ID, parseId } from '../common/validation/ids';
import { TokenRejectedError } from './token-verifier';

/** How a deployment bounds token times, in seconds. */
export interface TokenTimeRules {
  /** Clock difference tolerated on `iat` and `nbf`. */
  clockToleranceSeconds: number;
  /** Longest lifetime accepted, `exp - iat` (RFC 8725 §3.10: tokens must not live for ever). */
  maxLifetimeSeconds: number;
}

/**
 * The time rules every access token obeys, whatever signed it: `exp` and `iat`
 * present, not expired, not issued in the future, not living longer than the
 * maximum lifetime and, when `nbf` is given, valid already. Clock skew is
 * tolerated on `iat` and `nbf`; `exp` is strict, as the contract says: a token
 * past its expiry is refused.
 */
export function checkTimeClaims(claims: Record<string, unknown>, now: number, rules: TokenTimeRules): void {
  const { exp, iat, nbf } = claims;
  const skew = rules.clockToleranceSeconds;
  if (typeof exp !== 'number' || !Number.isFinite(exp)) throw new TokenRejectedError('token has no expiry');
  if (now >= exp) throw new TokenRejectedError('token has expired');
  if (typeof iat !== 'number' || !Number.isFinite(iat)) throw new TokenRejectedError('token has no issue time');
  if (iat > now + skew) throw new TokenRejectedError('token is issued in the future');
  if (exp - iat > rules.maxLifetimeSeconds) throw new TokenRejectedError('token lives longer than accepted');
  if (nbf !== undefined && (typeof nbf !== 'number' || !Number.isFinite(nbf) || nbf > now + skew)) {
    throw new TokenRejectedError('token is not valid yet');
  }
}

/** A positive int32 JSON number (SelfCommunity's `user_id`), else undefined. */
export function userIdFromNumber(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_ID ? value : undefined;
}

/**
 * An identity provider's user id claim: a positive int32 JSON number, or its
 * canonical decimal string (`sub` is a string by RFC 7519, and Keycloak's
 * attribute mappers emit strings by default). `007`, `1e3`, ` 7` are refused.
 */
export function userIdFromClaim(value: unknown): number | undefined {
  return typeof value === 'number' ? userIdFromNumber(value) : parseId(value);
}
