import { createHmac } from 'node:crypto';
import { createLocalJWKSet, CryptoKey, exportJWK, exportSPKI, generateKeyPair, JWTVerifyGetKey, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { JwksJwtConfig } from '../config/app-config';
import { JwksTokenVerifier, MAX_JWKS_TOKEN_LENGTH } from './jwks-token-verifier';
import { KeySetUnavailableError, TokenRejectedError } from './token-verifier';

const CONFIG: JwksJwtConfig = {
  mode: 'jwks',
  jwksUri: 'https://idp.test/certs',
  issuer: 'https://idp.test/',
  audience: 'api',
  algorithms: ['RS256', 'ES256'],
  userIdClaim: 'user_id',
  clockToleranceSeconds: 30,
  maxLifetimeSeconds: 86_400,
};

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('JwksTokenVerifier', () => {
  let keys: JWTVerifyGetKey;
  let rsaPrivate: CryptoKey;
  let rsaPem: string;
  let ecPrivate: CryptoKey;
  const now = (): number => Math.floor(Date.now() / 1000);
  const claims = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
    iss: CONFIG.issuer,
    aud: CONFIG.audience,
    iat: now(),
    exp: now() + 300,
    user_id: 7,
    ...overrides,
  });
  const rs256 = (payload: Record<string, unknown>): Promise<string> =>
    new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid: 'rsa' }).sign(rsaPrivate);

  beforeAll(async () => {
    const rsa = await generateKeyPair('RS256', { extractable: true });
    const ec = await generateKeyPair('ES256', { extractable: true });
    rsaPrivate = rsa.privateKey;
    ecPrivate = ec.privateKey;
    rsaPem = await exportSPKI(rsa.publicKey);
    keys = createLocalJWKSet({
      keys: [
        { ...(await exportJWK(rsa.publicKey)), kid: 'rsa', alg: 'RS256' },
        { ...(await exportJWK(ec.publicKey)), kid: 'ec', alg: 'ES256' },
      ],
    });
  });

  it('returns the user id of valid RS256 and ES256 tokens', async () => {
    const verifier = new JwksTokenVerifier(CONFIG, keys);
    await expect(verifier.verify(await rs256(claims()))).resolves.toBe(7);
    const es = await new SignJWT(claims({ user_id: 8 }))
      .setProtectedHeader({ alg: 'ES256', kid: 'ec' })
      .sign(ecPrivate);
    await expect(verifier.verify(es)).resolves.toBe(8);
  });

  it('reads the configured claim, as a number or a canonical decimal string', async () => {
    const verifier = new JwksTokenVerifier({ ...CONFIG, userIdClaim: 'sub' }, keys);
    await expect(verifier.verify(await rs256(claims({ sub: '42' })))).resolves.toBe(42);
    await expect(verifier.verify(await rs256(claims({ sub: 'f81d4fae-7dec' })))).rejects.toThrow(/no valid sub/);
    await expect(verifier.verify(await rs256(claims()))).rejects.toThrow(/no valid sub/);
  });

  it('accepts token_type access or none, refuses any other', async () => {
    const verifier = new JwksTokenVerifier(CONFIG, keys);
    await expect(verifier.verify(await rs256(claims({ token_type: 'access' })))).resolves.toBe(7);
    await expect(verifier.verify(await rs256(claims({ token_type: 'refresh' })))).rejects.toThrow(
      /not an access token/,
    );
  });

  it('refuses algorithms outside the configuration without asking for a key', async () => {
    let asked = 0;
    const counting: JWTVerifyGetKey = (header, token) => {
      asked += 1;
      return keys(header, token);
    };
    const verifier = new JwksTokenVerifier({ ...CONFIG, algorithms: ['ES256'] }, counting);
    await expect(verifier.verify(await rs256(claims()))).rejects.toThrow(/algorithm is not accepted/);
    const input = `${b64({ alg: 'HS256', kid: 'rsa' })}.${b64(claims())}`;
    const hs256 = `${input}.${createHmac('sha256', rsaPem).update(input).digest('base64url')}`;
    await expect(verifier.verify(hs256)).rejects.toThrow(/algorithm is not accepted/);
    await expect(verifier.verify(`${b64({ alg: 'none' })}.${b64(claims())}.`)).rejects.toThrow(TokenRejectedError);
    expect(asked).toBe(0);
  });

  it('applies the same time rules as HS256 tokens (iat in the future, missing iat)', async () => {
    const verifier = new JwksTokenVerifier(CONFIG, keys);
    await expect(verifier.verify(await rs256(claims({ iat: now() + 120 })))).rejects.toThrow(/future/);
    const { iat: _iat, ...withoutIat } = claims();
    await expect(verifier.verify(await rs256(withoutIat))).rejects.toThrow(/issue time/);
    await expect(verifier.verify(await rs256(claims({ exp: now() - 60 })))).rejects.toThrow(/expired/);
  });

  it('passes KeySetUnavailableError through; other key errors are a rejection', async () => {
    const down = new JwksTokenVerifier(CONFIG, () => Promise.reject(new KeySetUnavailableError()));
    await expect(down.verify(await rs256(claims()))).rejects.toBeInstanceOf(KeySetUnavailableError);
    const broken = new JwksTokenVerifier(CONFIG, () => Promise.reject(new Error('boom')));
    await expect(broken.verify(await rs256(claims()))).rejects.toBeInstanceOf(TokenRejectedError);
  });

  it('refuses tokens longer than the limit before parsing them', async () => {
    const verifier = new JwksTokenVerifier(CONFIG, () => Promise.reject(new Error('must not be asked')));
    await expect(verifier.verify('a'.repeat(MAX_JWKS_TOKEN_LENGTH + 1))).rejects.toThrow(/too long/);
  });
});
