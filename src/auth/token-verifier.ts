import { ExpectedError } from '../common/errors/without-stack-trace';

/**
 * Verifies a bearer token and names the community user it authenticates.
 * Two implementations, one per deployment (AppConfig.jwt.mode): HS256 with the
 * shared secret (SelfCommunity's tokens, synchronous) and JWKS (an identity
 * provider's asymmetric tokens, asynchronous because keys are fetched).
 */
export abstract class TokenVerifier {
  /**
   * The user id of a valid access token. Throws (or rejects with)
   * TokenRejectedError for a bad token, KeySetUnavailableError when the keys
   * needed to decide cannot be fetched.
   */
  abstract verify(token: string): number | Promise<number>;
}

/** Why a token was refused; the message is safe to show the client. */
export class TokenRejectedError extends ExpectedError {
  constructor(reason: string) {
    // An expected outcome (a 401), so no stack trace.
    super(reason);
    this.name = 'TokenRejectedError';
  }
}

/** The identity provider's key set could not be fetched: nothing is known about the token (503, not 401). */
export class KeySetUnavailableError extends Error {
  constructor(options?: { cause?: unknown }) {
    super('The identity provider keys could not be fetched; retry later', options);
    this.name = 'KeySetUnavailableError';
  }
}
