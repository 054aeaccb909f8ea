import { describe, expect, it } from 'vitest';
import { loadAppConfig } from './app-config';
import { configProblems } from '../../test/support/config-problems';

const BASE = { NODE_ENV: 'test', DATABASE_PATH: '/tmp/unused-db', JWT_SECRET: 'x'.repeat(32) };
const JWKS = { JWKS_URI: 'https://idp.example.com/certs', JWT_ISSUER: 'https://idp.example.com/', JWT_AUDIENCE: 'api' };

const problems = configProblems;

describe('JWT settings', () => {
  it('without JWKS_URI: the HS256 shared-secret mode', () => {
    expect(loadAppConfig(BASE).jwt).toMatchObject({ mode: 'hs256', secretSource: 'environment' });
  });

  it('with JWKS_URI: the JWKS mode, RS256 and ES256 and the user_id claim by default', () => {
    expect(loadAppConfig({ ...BASE, ...JWKS }).jwt).toEqual({
      mode: 'jwks',
      jwksUri: JWKS.JWKS_URI,
      issuer: JWKS.JWT_ISSUER,
      audience: JWKS.JWT_AUDIENCE,
      algorithms: ['RS256', 'ES256'],
      userIdClaim: 'user_id',
      clockToleranceSeconds: 30,
      maxLifetimeSeconds: 86_400,
    });
    const custom = loadAppConfig({ ...BASE, ...JWKS, JWT_ALGORITHMS: ' ES256 , PS256', JWT_USER_ID_CLAIM: 'sub' });
    expect(custom.jwt).toMatchObject({ algorithms: ['ES256', 'PS256'], userIdClaim: 'sub' });
  });

  it('JWKS mode needs no JWT_SECRET, also in production', () => {
    const { JWT_SECRET: _secret, ...withoutSecret } = BASE;
    expect(loadAppConfig({ ...withoutSecret, ...JWKS, NODE_ENV: 'production' }).jwt.mode).toBe('jwks');
  });

  it.each(['JWT_ISSUER', 'JWT_AUDIENCE'] as const)('refuses to start in JWKS mode without %s, naming it', (name) => {
    const env: Record<string, string> = { ...BASE, ...JWKS };
    delete env[name];
    expect(problems(env)).toEqual([expect.stringMatching(new RegExp(`^${name}: required when JWKS_URI is set`))]);
  });

  it.each(['HS256', 'HS512', 'none', 'RS256,HS256', 'foo'])('refuses JWT_ALGORITHMS=%s in JWKS mode', (algorithms) => {
    expect(problems({ ...BASE, ...JWKS, JWT_ALGORITHMS: algorithms })).toEqual([
      expect.stringMatching(/^JWT_ALGORITHMS: only asymmetric algorithms are accepted with JWKS_URI/),
    ]);
  });

  it('refuses JWKS-only settings without JWKS_URI', () => {
    expect(problems({ ...BASE, JWT_ALGORITHMS: 'RS256', JWT_USER_ID_CLAIM: 'sub' })).toEqual([
      expect.stringMatching(/^JWT_ALGORITHMS: only used with JWKS_URI/),
      expect.stringMatching(/^JWT_USER_ID_CLAIM: only used with JWKS_URI/),
    ]);
  });

  it('refuses a JWKS_URI that is not an http(s) URL, and plain http in production unless loopback', () => {
    expect(problems({ ...BASE, ...JWKS, JWKS_URI: 'file:///etc/keys.json' })).toEqual([
      'JWKS_URI: JWKS_URI must be an absolute http(s) URL',
    ]);
    const production = { ...BASE, ...JWKS, NODE_ENV: 'production' };
    expect(problems({ ...production, JWKS_URI: 'http://idp.example.com/certs' })).toEqual([
      expect.stringMatching(/^JWKS_URI: must be https in production/),
    ]);
    expect(problems({ ...production, JWKS_URI: 'http://127.0.0.1:8080/certs' })).toEqual([]);
    expect(problems({ ...BASE, ...JWKS, JWKS_URI: 'http://keycloak:8080/certs' })).toEqual([]);
  });

  it('never echoes a value in its messages', () => {
    const secretish = 'HS256-super-secret-value';
    expect(problems({ ...BASE, ...JWKS, JWT_ALGORITHMS: secretish }).join(' ')).not.toContain(secretish);
  });
});
