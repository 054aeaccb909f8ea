import { createHmac, randomUUID } from 'node:crypto';
import { TEST_JWT_SECRET } from './create-test-app';

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * Signs any header and claims with HS256 (or leaves the signature empty for
 * `alg: none`): the tool for forging every kind of token a client could send.
 */
export function signToken(
  claims: Record<string, unknown>,
  header: Record<string, unknown> = { alg: 'HS256', typ: 'JWT' },
  secret: string | Buffer = TEST_JWT_SECRET,
): string {
  const input = `${b64(header)}.${b64(claims)}`;
  if (header.alg === 'none') return `${input}.`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

/** Claims of a valid SelfCommunity access token for `userId`, overridable field by field. */
export function accessClaims(userId: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return { token_type: 'access', exp: now + 3600, iat: now, jti: randomUUID(), user_id: userId, ...overrides };
}

/** A valid access token for `userId`. */
export function tokenFor(userId: number): string {
  return signToken(accessClaims(userId));
}
