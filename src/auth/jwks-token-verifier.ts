import { createRemoteJWKSet, errors, jwtVerify, JWTVerifyGetKey, JWTVerifyOptions } from 'jose';
import { JwksJwtConfig } from '../config/app-config';
import { checkTimeClaims, userIdFromClaim } from './token-claims';
import { KeySetUnavailableError, TokenRejectedError, TokenVerifier } from './token-verifier';

/** Identity providers' tokens are larger than ours (Azure AD with groups: ~6 KB); anything longer is refused unread. */
export const MAX_JWKS_TOKEN_LENGTH = 8192;

/** How the key set is fetched and cached (jose's createRemoteJWKSet). */
export const JWKS_FETCH = {
  /** A key set request that takes longer fails: the request answers 503 instead of hanging. */
  timeoutMs: 2000,
  /** After a successful fetch, an unknown `kid` triggers a refetch only this much later (no fetch floods). */
  cooldownMs: 30_000,
  /** Keys are refetched when older than this, so keys the provider removed stop being trusted. */
  cacheMaxAgeMs: 10 * 60_000,
} as const;

/**
 * Asymmetric tokens of an identity provider (Keycloak, Azure AD, Auth0), verified
 * with jose against the provider's JWKS: only the configured algorithms (never
 * HS*, never `none`), the configured issuer and audience, then the same time rules
 * as our own tokens. `token_type`, when the token has one, must be `access`. The
 * user is the positive int32 in the configured claim.
 */
export class JwksTokenVerifier extends TokenVerifier {
  private readonly keys: JWTVerifyGetKey;
  private readonly options: JWTVerifyOptions;

  /** `keys` replaces the remote key set (unit tests). */
  constructor(
    private readonly config: JwksJwtConfig,
    keys?: JWTVerifyGetKey,
  ) {
    super();
    this.keys = keys ?? remoteKeySet(config.jwksUri);
    this.options = {
      algorithms: [...config.algorithms],
      issuer: config.issuer,
      audience: config.audience,
      clockTolerance: config.clockToleranceSeconds,
    };
  }

  async verify(token: string, nowSeconds?: number): Promise<number> {
    if (token.length > MAX_JWKS_TOKEN_LENGTH) throw new TokenRejectedError('token is too long');
    const now = nowSeconds ?? Date.now() / 1000;
    let claims: Record<string, unknown>;
    try {
      const options =
        nowSeconds === undefined ? this.options : { ...this.options, currentDate: new Date(nowSeconds * 1000) };
      ({ payload: claims } = await jwtVerify(token, this.keys, options));
    } catch (error) {
      throw rejection(error);
    }
    checkTimeClaims(claims, now, this.config);
    if (claims.token_type !== undefined && claims.token_type !== 'access') {
      throw new TokenRejectedError('token is not an access token');
    }
    const userId = userIdFromClaim(claims[this.config.userIdClaim]);
    if (userId === undefined) throw new TokenRejectedError(`token has no valid ${this.config.userIdClaim}`);
    return userId;
  }
}

/**
 * jose's remote key set, with every failure to obtain keys (refused connection,
 * timeout, non-200, not a JWKS) turned into KeySetUnavailableError. A key set that
 * was fetched but has no key for the token stays jose's JWKSNoMatchingKey (401).
 */
function remoteKeySet(uri: string): JWTVerifyGetKey {
  const remote = createRemoteJWKSet(new URL(uri), {
    timeoutDuration: JWKS_FETCH.timeoutMs,
    cooldownDuration: JWKS_FETCH.cooldownMs,
    cacheMaxAge: JWKS_FETCH.cacheMaxAgeMs,
  });
  return async (header, token) => {
    try {
      return await remote(header, token);
    } catch (error) {
      if (
        error instanceof errors.JWKSNoMatchingKey ||
        error instanceof errors.JWKSMultipleMatchingKeys ||
        error instanceof errors.JOSENotSupported
      ) {
        throw error;
      }
      throw new KeySetUnavailableError({ cause: error });
    }
  };
}

/** jose's errors, as a reason safe to show the client; KeySetUnavailableError passes through. */
function rejection(error: unknown): Error {
  if (error instanceof KeySetUnavailableError || error instanceof TokenRejectedError) return error;
  if (error instanceof errors.JWTExpired) return new TokenRejectedError('token has expired');
  if (error instanceof errors.JWTClaimValidationFailed) {
    switch (error.claim) {
      case 'iss':
        return new TokenRejectedError('token issuer is not accepted');
      case 'aud':
        return new TokenRejectedError('token audience is not accepted');
      case 'nbf':
        return new TokenRejectedError('token is not valid yet');
      default:
        return new TokenRejectedError(`token claim ${error.claim} is invalid`);
    }
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return new TokenRejectedError('token algorithm is not accepted');
  if (error instanceof errors.JOSENotSupported) {
    return new TokenRejectedError('token uses an unsupported algorithm or critical header');
  }
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
    return new TokenRejectedError('token key is not known');
  }
  if (error instanceof errors.JWSSignatureVerificationFailed)
    return new TokenRejectedError('token signature is invalid');
  return new TokenRejectedError('token is malformed');
}
