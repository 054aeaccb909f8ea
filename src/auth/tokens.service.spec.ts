import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AppConfig, loadAppConfig } from '../config/app-config';
import { parseDuration, TokenIssuingUnavailableError, TokensService } from './tokens.service';

const BASE = { NODE_ENV: 'test', DATABASE_PATH: '/tmp/unused-db', JWT_SECRET: 'y'.repeat(32) };

const config = (env: Record<string, string> = {}): AppConfig => loadAppConfig({ ...BASE, ...env });

describe('TokensService', () => {
  it("issues HS256 tokens in SelfCommunity's format: header, claims, and the HMAC of the secret", () => {
    const tokens = new TokensService(config({ JWT_ISSUER: 'https://issuer', JWT_AUDIENCE: 'api' }));
    expect(tokens.canIssue).toBe(true);
    const [header, payload, signature] = tokens.issue(7, 60, 1_700_000_000).split('.') as [string, string, string];
    const json = (segment: string): unknown => JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    expect(json(header)).toEqual({ alg: 'HS256', typ: 'JWT' });
    expect(json(payload)).toEqual({
      token_type: 'access',
      exp: 1_700_000_060,
      iat: 1_700_000_000,
      jti: expect.stringMatching(/^[0-9a-f]{32}$/),
      user_id: 7,
      iss: 'https://issuer',
      aud: 'api',
    });
    const expected = createHmac('sha256', 'y'.repeat(32)).update(`${header}.${payload}`).digest('base64url');
    expect(signature).toBe(expected);
    expect(tokens.issue(7, 60)).not.toBe(tokens.issue(7, 60));
  });

  it('refuses a lifetime over JWT_MAX_LIFETIME_SECONDS', () => {
    expect(() => new TokensService(config()).issue(7, 86_401)).toThrow(/at most 86400 s/);
  });

  it('refuses to issue in JWKS mode, saying why (the identity provider issues tokens)', () => {
    const tokens = new TokensService(
      config({
        JWKS_URI: 'https://idp.example.com/certs',
        JWT_ISSUER: 'https://idp.example.com/',
        JWT_AUDIENCE: 'api',
      }),
    );
    expect(tokens.canIssue).toBe(false);
    expect(() => tokens.issue(7)).toThrow(TokenIssuingUnavailableError);
    expect(() => tokens.issue(7)).toThrow(/only be issued in the shared-secret \(HS256\) mode.*JWKS_URI/);
  });
});

describe('parseDuration', () => {
  it.each([
    ['90', 90],
    ['30s', 30],
    ['15m', 900],
    ['1h', 3600],
    ['7d', 604800],
  ])('%s is %d seconds', (value, seconds) => {
    expect(parseDuration(value)).toBe(seconds);
  });

  it.each(['0', '', 'h', '1w', '-1', '1.5h'])('%j is refused', (value) => {
    expect(parseDuration(value)).toBeUndefined();
  });
});
