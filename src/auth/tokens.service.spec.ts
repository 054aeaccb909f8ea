import { describe, expect, it } from 'vitest';
import { AppConfig, loadAppConfig } from '../config/app-config';
import { AccessTokenCodec } from './access-token';
import { parseDuration, TokenIssuingUnavailableError, TokensService } from './tokens.service';

const BASE = { NODE_ENV: 'test', DATABASE_PATH: '/tmp/unused-db', JWT_SECRET: 'y'.repeat(32) };

const config = (env: Record<string, string> = {}): AppConfig => loadAppConfig({ ...BASE, ...env });

describe('TokensService', () => {
  it('issues HS256 access tokens that the codec accepts', () => {
    const hs256 = config();
    const tokens = new TokensService(hs256);
    expect(tokens.canIssue).toBe(true);
    const token = tokens.issue(7, 60);
    if (hs256.jwt.mode !== 'hs256') throw new Error('expected the HS256 mode');
    expect(new AccessTokenCodec(hs256.jwt).verify(token)).toMatchObject({ user_id: 7, token_type: 'access' });
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
