import { randomUUID } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { CryptoKey, exportJWK, exportSPKI, generateKeyPair, JWK, SignJWT } from 'jose';
import { vi } from 'vitest';

// The identity provider of the JWKS e2e tests (test/e2e/jwks.e2e-spec.ts): its key
// endpoint, its keys, the tokens it signs, and a clock the tests move.

export const ISSUER = 'https://idp.test/realms/community';
export const AUDIENCE = 'social-associations';

export interface SigningKey {
  kid: string;
  alg: 'RS256' | 'ES256' | 'PS256';
  privateKey: CryptoKey;
  jwk: JWK;
  pem: string;
}

export async function makeKey(alg: SigningKey['alg']): Promise<SigningKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const kid = `${alg.toLowerCase()}-${randomUUID().slice(0, 8)}`;
  return {
    kid,
    alg,
    privateKey,
    jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' },
    pem: await exportSPKI(publicKey),
  };
}

export type JwksMode = 'ok' | 'refuse' | 'hang' | 'error' | 'garbage' | 'not-a-jwks';

/** A real identity provider's key endpoint on 127.0.0.1: serves `keys`, counts fetches, can fail on demand. */
export class JwksServer {
  keys: SigningKey[] = [];
  mode: JwksMode = 'ok';
  fetches = 0;
  /** Requests to any other path (a `jku` header the service must never follow). */
  strayRequests = 0;
  private readonly server: Server = createServer((req, res) => this.handle(req, res));
  url = '';

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    if (req.url !== '/jwks') {
      this.strayRequests += 1;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [] }));
      return;
    }
    this.fetches += 1;
    switch (this.mode) {
      case 'refuse':
        req.socket.destroy();
        return;
      case 'hang':
        return; // never answers; closed by stop()
      case 'error':
        res.writeHead(500).end('oops');
        return;
      case 'garbage':
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys": [');
        return;
      case 'not-a-jwks':
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"hello": "world"}');
        return;
      default:
        res
          .writeHead(200, { 'content-type': 'application/jwk-set+json' })
          .end(JSON.stringify({ keys: this.keys.map((key) => key.jwk) }));
    }
  }
}

/**
 * The service keeps the key set for JWKS_FETCH.cacheMaxAgeMs and refetches on an
 * unknown kid only after JWKS_FETCH.cooldownMs. Tests move the clock (Date only)
 * instead of waiting; every test starts past the cache age, so the first
 * verification in each test fetches afresh and tests do not depend on each other.
 */
let clockOffsetMs = 0;
export function advanceClock(ms: number): void {
  clockOffsetMs += ms;
  vi.setSystemTime(vi.getRealSystemTime() + clockOffsetMs);
}
export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

export function idpClaims(userId: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = nowSeconds();
  return { iss: ISSUER, aud: AUDIENCE, iat: now, exp: now + 300, jti: randomUUID(), user_id: userId, ...overrides };
}

export function drop(claims: Record<string, unknown>, ...names: string[]): Record<string, unknown> {
  const copy = { ...claims };
  for (const name of names) delete copy[name];
  return copy;
}

export async function sign(
  key: SigningKey,
  claims: Record<string, unknown>,
  header: Record<string, unknown> = {},
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...header })
    .sign(key.privateKey);
}

export const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
