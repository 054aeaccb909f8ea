import { createSecretKey, KeyObject, webcrypto } from 'node:crypto';
import { Injectable, UnauthorizedException } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { createRemoteJWKSet, decodeProtectedHeader, errors, JWSHeaderParameters } from 'jose';
import { Algorithm, JsonWebTokenError, Jwt, TokenExpiredError } from 'jsonwebtoken';
import { ExtractJwt, SecretOrKeyProvider, Strategy } from 'passport-jwt';
import { withoutStackTrace } from '../common/errors/without-stack-trace';
import { MAX_ID, parseId } from '../common/validation/ids';
import { AppConfig, JwksJwtConfig, JwtConfig } from '../config/app-config';
import { UsersService } from '../users/users.service';
import { Caller } from './caller';

/** Longest token looked at in the shared-secret mode; anything longer is refused before any parsing. */
export const MAX_TOKEN_LENGTH = 4096;
/** Identity providers' tokens are larger than ours (Azure AD with groups: ~6 KB). */
export const MAX_JWKS_TOKEN_LENGTH = 8192;

/** How the identity provider's key set is fetched and cached (jose's createRemoteJWKSet). */
export const JWKS_FETCH = {
  /** A key set request that takes longer fails: the request answers 503 instead of hanging. */
  timeoutMs: 2000,
  /** After a successful fetch, an unknown `kid` triggers a refetch only this much later (no fetch floods). */
  cooldownMs: 30_000,
  /** Keys are refetched when older than this, so keys the provider removed stop being trusted. */
  cacheMaxAgeMs: 10 * 60_000,
} as const;

/** Why a token was refused; the message is safe to show the client. */
export class TokenRejectedError extends Error {
  constructor(reason: string) {
    // An expected outcome (a 401), so no stack trace: see withoutStackTrace.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(reason);
    Error.stackTraceLimit = stackTraceLimit;
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

/**
 * "Who is calling?", through passport-jwt's documented options only: the bearer
 * token from the Authorization header (`jwtFromRequest`), its key
 * (`secretOrKeyProvider`), jsonwebtoken's verification (passport-jwt's own
 * verifier: signature, `alg`, `exp` strict, `iss`, `aud`), then `validate()`,
 * the verify callback, with the rules jsonwebtoken has no option for, and the
 * user, reloaded from the database.
 *
 * One mode per deployment (AppConfig.jwt.mode): HS256 with the shared secret, a
 * KeyObject made once (a string secret would be re-parsed as a PEM key on every
 * verify); or the identity provider's RS256/ES256 keys, looked up by `kid` in its
 * JWKS with jose's createRemoteJWKSet (cached, refetched on an unknown `kid` after
 * a cooldown, bounded by a timeout).
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  private readonly rules: ClaimRules;

  constructor(
    config: AppConfig,
    private readonly users: UsersService,
  ) {
    const jwt = config.jwt;
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      secretOrKeyProvider: jwt.mode === 'jwks' ? keySetProvider(jwt) : secretProvider(jwt.secret),
      algorithms: jwt.mode === 'jwks' ? ([...jwt.algorithms] as Algorithm[]) : ['HS256'],
      issuer: jwt.issuer,
      audience: jwt.audience,
      // nbf is checked by checkTimeClaims, with the skew; complete: validate() gets the header too.
      jsonWebTokenOptions: { ignoreNotBefore: true, complete: true },
    });
    this.rules = claimRules(jwt);
  }

  /** Role and activation always come from the database, never from the token. */
  async validate(token: Jwt): Promise<Caller> {
    const userId = userIdOf(token, this.rules, Date.now() / 1000);
    const user = await this.users.findSignInState(userId);
    if (!user || !user.isActive)
      throw new UnauthorizedException('The user of this token does not exist or is inactive');
    return {
      id: user.id,
      role: user.role,
      hasUsablePassword: user.hasUsablePassword,
      isAdmin: user.role === 'admin',
    };
  }
}

/** passport-jwt's failure when a request has no bearer token. */
const NO_TOKEN = 'No auth token';

/**
 * What passport-jwt failed a request with, as a reason safe to show the client;
 * null when the request carried no bearer token at all. KeySetUnavailableError is
 * not a verdict on the token: the guard answers it with a 503.
 */
export function rejectionReason(info: unknown): string | null {
  if (info instanceof TokenRejectedError) return info.message;
  if (info instanceof TokenExpiredError) return 'token has expired';
  if (info instanceof JsonWebTokenError) {
    const { message } = info;
    if (message === 'invalid signature') return 'token signature is invalid';
    if (message === 'invalid algorithm') return 'token algorithm is not accepted';
    if (message === 'invalid token') return 'token header is not valid JSON';
    if (message === 'invalid exp value') return 'token has no expiry';
    if (message.startsWith('jwt issuer invalid')) return 'token issuer is not accepted';
    if (message.startsWith('jwt audience invalid')) return 'token audience is not accepted';
    return 'token is malformed';
  }
  // jws parses a payload it is told is JSON (typ: JWT) with JSON.parse, and lets it throw.
  if (info instanceof SyntaxError) return 'token payload is not valid JSON';
  // passport-jwt's own failure (lib/strategy.js): no Authorization header, or not "Bearer <token>".
  if (info instanceof Error && info.message === NO_TOKEN) return null;
  // Thrown by jws while checking the signature (e.g. an ES256 signature of the wrong length).
  return 'token is malformed';
}

// --- Keys -------------------------------------------------------------------------------------

/**
 * passport-jwt hands the key to jsonwebtoken 9, which takes a KeyObject as it is;
 * @types/passport-jwt only lists string | Buffer (which jsonwebtoken would parse on
 * every request), hence the one cast.
 */
type KeyCallback = (error: Error | null, key?: KeyObject) => void;
const keyProvider = (provide: (token: string, done: KeyCallback) => void): SecretOrKeyProvider =>
  ((_request: unknown, token: string, done: KeyCallback) =>
    provide(token, (error, key) => {
      if (error) return done(error);
      try {
        done(null, key);
      } catch (thrown) {
        // jsonwebtoken 9 throws, before answering, on a correctly signed token whose payload
        // is JSON null (it reads payload.nbf): that is a refused token too, not a 500 or a hang.
        done(thrown instanceof Error ? thrown : new Error(String(thrown)));
      }
    })) as unknown as SecretOrKeyProvider;

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** Refuses, before any parsing, what is too long or not three base64url segments. */
function shapeProblem(token: string, maxLength: number): TokenRejectedError | undefined {
  if (token.length > maxLength) return new TokenRejectedError('token is too long');
  if (!COMPACT_JWS.test(token)) return new TokenRejectedError('token is not a compact JWS');
  return undefined;
}

/** The shared-secret mode: one KeyObject, answered synchronously. */
function secretProvider(secret: string): SecretOrKeyProvider {
  const key = createSecretKey(Buffer.from(secret, 'utf8'));
  return keyProvider((token, done) => {
    const problem = shapeProblem(token, MAX_TOKEN_LENGTH);
    if (problem) done(problem);
    else done(null, key);
  });
}

/**
 * The JWKS mode: the key the token's `kid` names in the provider's key set. A token
 * whose `alg` is not configured is refused without asking for a key.
 */
function keySetProvider(config: JwksJwtConfig): SecretOrKeyProvider {
  const keys = remoteKeySet(config.jwksUri);
  const accepted: readonly string[] = config.algorithms;
  // jose answers a WebCrypto key (for the key types these algorithms use), the same
  // object for the same key for as long as it keeps the set: converted once.
  const keyObjects = new WeakMap<webcrypto.CryptoKey, KeyObject>();
  const keyObjectOf = (key: webcrypto.CryptoKey): KeyObject => {
    let keyObject = keyObjects.get(key);
    if (!keyObject) keyObjects.set(key, (keyObject = KeyObject.from(key)));
    return keyObject;
  };
  return keyProvider((token, done) => {
    const problem = shapeProblem(token, MAX_JWKS_TOKEN_LENGTH);
    if (problem) return done(problem);
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      return done(new TokenRejectedError('token header is not valid JSON'));
    }
    if (typeof header.alg !== 'string' || !accepted.includes(header.alg)) {
      return done(new TokenRejectedError('token algorithm is not accepted'));
    }
    keys(header)
      .then(keyObjectOf)
      .then(
        (key) => done(null, key),
        (error: unknown) => done(keyError(error)),
      );
  });
}

/**
 * jose's remote key set (cached, refetched on an unknown `kid` after the cooldown),
 * asked with the token's header only: its keys are the provider's, never one the
 * token brings (`jwk`, `jku`, `x5u`).
 */
function remoteKeySet(uri: string): (header: JWSHeaderParameters) => Promise<webcrypto.CryptoKey> {
  const remote = createRemoteJWKSet(new URL(uri), {
    timeoutDuration: JWKS_FETCH.timeoutMs,
    cooldownDuration: JWKS_FETCH.cooldownMs,
    cacheMaxAge: JWKS_FETCH.cacheMaxAgeMs,
  });
  return (header) => remote(header);
}

/**
 * A key set that was fetched but has no key for the token is a rejection (401);
 * every failure to obtain keys (refused connection, timeout, non-200, not a JWKS)
 * is KeySetUnavailableError (503).
 */
function keyError(error: unknown): Error {
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
    return new TokenRejectedError('token key is not known');
  }
  if (error instanceof errors.JOSENotSupported) return new TokenRejectedError('token uses an unsupported algorithm');
  return new KeySetUnavailableError({ cause: error });
}

// --- Claims -----------------------------------------------------------------------------------

/** How a deployment bounds token times, in seconds. */
export interface TokenTimeRules {
  /** Clock difference tolerated on `iat` and `nbf`. */
  clockToleranceSeconds: number;
  /** Longest lifetime accepted, `exp - iat` (RFC 8725 §3.10: tokens must not live for ever). */
  maxLifetimeSeconds: number;
}

interface ClaimRules extends TokenTimeRules {
  userIdClaim: string;
  userId: (value: unknown) => number | undefined;
  /** SelfCommunity's tokens always say `token_type: access`; identity providers' may say nothing. */
  tokenTypeRequired: boolean;
}

function claimRules(config: JwtConfig): ClaimRules {
  const times = { clockToleranceSeconds: config.clockToleranceSeconds, maxLifetimeSeconds: config.maxLifetimeSeconds };
  return config.mode === 'jwks'
    ? { ...times, userIdClaim: config.userIdClaim, userId: userIdFromClaim, tokenTypeRequired: false }
    : { ...times, userIdClaim: 'user_id', userId: userIdFromNumber, tokenTypeRequired: true };
}

/** The user id of a token jsonwebtoken verified, after the rules it has no option for; else a 401. */
function userIdOf({ header, payload }: Jwt, rules: ClaimRules, now: number): number {
  const refuse = (reason: string): never => {
    throw withoutStackTrace(() => new UnauthorizedException(`Invalid token: ${reason}`));
  };
  if (header.crit !== undefined) refuse('token has unsupported critical headers');
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
    refuse('token payload is not a JSON object');
  }
  const claims = payload as Record<string, unknown>;
  const timeProblem = timeClaimsProblem(claims, now, rules);
  if (timeProblem) refuse(timeProblem);
  const { token_type } = claims;
  if (token_type !== 'access' && (rules.tokenTypeRequired || token_type !== undefined)) {
    refuse('token is not an access token');
  }
  return rules.userId(claims[rules.userIdClaim]) ?? refuse(`token has no valid ${rules.userIdClaim}`);
}

/**
 * The time rules every access token obeys, whatever signed it: `exp` and `iat`
 * present, not expired, not issued in the future, not living longer than the
 * maximum lifetime and, when `nbf` is given, valid already. Clock skew is
 * tolerated on `iat` and `nbf`; `exp` is strict, as the contract says: a token
 * past its expiry is refused. Returns why a token breaks them, else undefined.
 */
export function timeClaimsProblem(
  claims: Record<string, unknown>,
  now: number,
  rules: TokenTimeRules,
): string | undefined {
  const { exp, iat, nbf } = claims;
  const skew = rules.clockToleranceSeconds;
  if (typeof exp !== 'number' || !Number.isFinite(exp)) return 'token has no expiry';
  if (now >= exp) return 'token has expired';
  if (typeof iat !== 'number' || !Number.isFinite(iat)) return 'token has no issue time';
  if (iat > now + skew) return 'token is issued in the future';
  if (exp - iat > rules.maxLifetimeSeconds) return 'token lives longer than accepted';
  if (nbf !== undefined && (typeof nbf !== 'number' || !Number.isFinite(nbf) || nbf > now + skew)) {
    return 'token is not valid yet';
  }
  return undefined;
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
