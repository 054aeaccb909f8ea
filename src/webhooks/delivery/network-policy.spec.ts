import type { LookupAddress } from 'node:dns';
import { describe, expect, it, vi } from 'vitest';
import {
  isForbiddenAddress,
  MAX_WEBHOOK_URL_LENGTH,
  resolveWebhookAddress,
  WebhookAddressError,
  webhookUrlProblem,
} from './network-policy';

// Names under .test answer what the test needs (RFC 6761: never a real name); every other
// name goes to the real resolver (localhost, nonexistent.invalid).
const TEST_NAMES: Record<string, LookupAddress[] | 'hang'> = {
  'public.test': [
    { address: '93.184.215.14', family: 4 },
    { address: '2606:2800:21f:cb07:6820:80da:af6b:8b2c', family: 6 },
  ],
  'mixed.test': [
    { address: '93.184.215.14', family: 4 },
    { address: '10.0.0.5', family: 4 },
  ],
  'mapped.test': [{ address: '::ffff:169.254.169.254', family: 6 }],
  'hang.test': 'hang',
};
vi.mock('node:dns/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:dns/promises')>();
  return {
    ...real,
    lookup: (name: string, options: { all: true }) => {
      const answer = TEST_NAMES[name];
      if (answer === undefined) return real.lookup(name, options);
      return answer === 'hang' ? new Promise(() => {}) : Promise.resolve(answer);
    },
  };
});

const STRICT = { allowPrivateNetworks: false };
const OPEN = { allowPrivateNetworks: true };

describe('isForbiddenAddress', () => {
  // Each range by its first and last address where that is cheap, with the neighbours outside it.
  const forbidden = [
    ['0.0.0.0', '0.255.255.255'],
    ['10.0.0.0', '10.255.255.255'],
    ['100.64.0.0', '100.127.255.255'],
    ['127.0.0.0', '127.0.0.1', '127.255.255.255'],
    ['169.254.0.0', '169.254.169.254', '169.254.255.255'],
    ['172.16.0.0', '172.31.255.255'],
    ['192.0.0.0', '192.0.0.255'],
    ['192.0.2.0', '192.0.2.255'],
    ['192.168.0.0', '192.168.255.255'],
    ['198.18.0.0', '198.19.255.255'],
    ['198.51.100.0', '198.51.100.255'],
    ['203.0.113.0', '203.0.113.255'],
    ['224.0.0.0', '239.255.255.255'],
    ['240.0.0.0', '255.255.255.254', '255.255.255.255'],
    ['::', '::1'],
    ['fc00::', 'fd00:ec2::254', 'fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
    ['fe80::', 'fe80::1', 'febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
    ['ff00::', 'ff02::1', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
    ['2001:db8::', '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff'],
    ['100::', '100::ffff:ffff:ffff:ffff'],
    // IPv4 inside IPv6: mapped (both spellings), translated, compatible, NAT64, 6to4.
    ['::ffff:127.0.0.1', '::ffff:7f00:1', '::FFFF:10.0.0.5', '::ffff:169.254.169.254', '::ffff:0:127.0.0.1'],
    ['::127.0.0.1', '::a9fe:a9fe', '64:ff9b::10.0.0.1', '64:ff9b::a9fe:a9fe', '2002:a00:1::', '2002:7f00:1::1'],
    // Outside the global unicast space 2000::/3, and the other non-receivers within it.
    ['fec0::1', '4000::1', '64:ff9b:1::1', '2001::1', '2001:2::1', '2001:1ff:ffff::1', '3fff::1'],
  ].flat();
  const allowed = [
    ['1.0.0.0', '1.1.1.1', '8.8.8.8', '9.255.255.255', '11.0.0.0', '100.63.255.255', '100.128.0.0'],
    ['126.255.255.255', '128.0.0.0', '169.253.255.255', '169.255.0.0', '172.15.255.255', '172.32.0.0'],
    ['192.0.1.0', '192.0.3.0', '192.167.255.255', '192.169.0.0', '198.17.255.255', '198.20.0.0'],
    ['198.51.99.255', '198.51.101.0', '203.0.112.255', '203.0.114.0', '223.255.255.255'],
    ['2606:4700::1111', '2001:4860:4860::8888', '2001:200::1', '2001:db7:ffff:ffff:ffff:ffff:ffff:ffff'],
    ['2001:db9::', '3ffe::1', '2fff::1', '::ffff:8.8.8.8', '64:ff9b::8.8.8.8', '2002:808:808::1'],
  ].flat();
  // Not an IP literal (or not one we accept): fail closed.
  const invalid = ['', 'example.com', '1.2.3', '010.0.0.1', '8.8.8.8 ', '[::1]', '::ffff:1.2.3.256', 'fe80::1%eth0'];

  it.each(forbidden)('refuses %s', (address) => {
    expect(isForbiddenAddress(address)).toBe(true);
  });

  it.each(allowed)('allows %s', (address) => {
    expect(isForbiddenAddress(address)).toBe(false);
  });

  it.each(invalid)('refuses %j, not a valid IP literal', (address) => {
    expect(isForbiddenAddress(address)).toBe(true);
  });
});

describe('webhookUrlProblem', () => {
  it('accepts https URLs with a public host, port, path and query', () => {
    for (const url of [
      'https://hooks.example.com/in',
      'https://hooks.example.com:8443/a/b?c=d&e',
      'https://8.8.8.8/',
      'https://[2606:4700::1111]/x',
    ]) {
      expect(webhookUrlProblem(url, STRICT)).toBeNull();
    }
  });

  it('refuses http unless private networks are allowed', () => {
    expect(webhookUrlProblem('http://hooks.example.com/', STRICT)).toBe('url must use https');
    expect(webhookUrlProblem('http://hooks.example.com/', OPEN)).toBeNull();
    expect(webhookUrlProblem('ftp://hooks.example.com/', OPEN)).toBe('url must use https or http');
    expect(webhookUrlProblem('file:///etc/passwd', OPEN)).toBe('url must use https or http');
  });

  it('refuses credentials, fragments, bad syntax, control characters and overlong URLs', () => {
    for (const policy of [STRICT, OPEN]) {
      expect(webhookUrlProblem('https://user:pw@hooks.example.com/', policy)).toMatch(/username or password/);
      expect(webhookUrlProblem('https://user@hooks.example.com/', policy)).toMatch(/username or password/);
      expect(webhookUrlProblem('https://hooks.example.com/#top', policy)).toMatch(/fragment/);
      expect(webhookUrlProblem('https://hooks.example.com/#', policy)).toMatch(/fragment/);
      expect(webhookUrlProblem('not a url', policy)).toMatch(/spaces or control characters/);
      expect(webhookUrlProblem('hooks.example.com/in', policy)).toBe('url must be an absolute URL');
      expect(webhookUrlProblem('https://', policy)).toBe('url must be an absolute URL');
      expect(webhookUrlProblem('https://hooks.example.com/\nx', policy)).toMatch(/control characters/);
      const long = `https://hooks.example.com/${'a'.repeat(MAX_WEBHOOK_URL_LENGTH)}`;
      expect(webhookUrlProblem(long, policy)).toBe(`url must be at most ${MAX_WEBHOOK_URL_LENGTH} characters`);
      const longest = `https://hooks.example.com/${'a'.repeat(MAX_WEBHOOK_URL_LENGTH - 26)}`;
      expect(longest).toHaveLength(MAX_WEBHOOK_URL_LENGTH);
      expect(webhookUrlProblem(longest, policy)).toBeNull();
    }
  });

  it('refuses local names and private IP literals unless private networks are allowed', () => {
    const local = [
      'https://localhost/',
      'https://LOCALHOST./',
      'https://api.localhost/',
      'https://printer.local/',
      'https://metadata.google.internal/',
    ];
    const privateLiterals = [
      'https://127.0.0.1:8443/',
      'https://169.254.169.254/latest/meta-data',
      'https://2130706433/', // 127.0.0.1, in new URL's reading
      'https://0x7f.1/',
      'https://[::1]/',
      'https://[::ffff:10.0.0.5]/',
      'https://[fd00:ec2::254]/',
    ];
    for (const url of local) {
      expect(webhookUrlProblem(url, STRICT)).toBe('url must not point to localhost or a .local or .internal host');
      expect(webhookUrlProblem(url, OPEN)).toBeNull();
    }
    for (const url of privateLiterals) {
      expect(webhookUrlProblem(url, STRICT)).toBe('url must not point to a private, loopback or reserved address');
      expect(webhookUrlProblem(url, OPEN)).toBeNull();
    }
    // Only whole labels count: these are ordinary public names.
    expect(webhookUrlProblem('https://notlocalhost.example/', STRICT)).toBeNull();
    expect(webhookUrlProblem('https://internal.example.com/', STRICT)).toBeNull();
  });
});

describe('resolveWebhookAddress', () => {
  it('refuses localhost without allowPrivateNetworks and returns its address with it', async () => {
    const refusal = resolveWebhookAddress('localhost', STRICT, 2000);
    await expect(refusal).rejects.toBeInstanceOf(WebhookAddressError);
    await expect(refusal).rejects.toMatchObject({
      reason: 'forbidden',
      message: expect.stringMatching(/^resolves to a private address \((127\.\d+\.\d+\.\d+|::1)\)$/),
    });
    const { address, family } = await resolveWebhookAddress('localhost', OPEN, 2000);
    expect(isForbiddenAddress(address)).toBe(true);
    expect(family).toBe(address.includes(':') ? 6 : 4);
  });

  it('takes IP literals as they are, brackets or not, and checks them', async () => {
    await expect(resolveWebhookAddress('8.8.8.8', STRICT, 2000)).resolves.toEqual({ address: '8.8.8.8', family: 4 });
    await expect(resolveWebhookAddress('[2606:4700::1111]', STRICT, 2000)).resolves.toEqual({
      address: '2606:4700::1111',
      family: 6,
    });
    await expect(resolveWebhookAddress('10.0.0.5', STRICT, 2000)).rejects.toThrow(
      'resolves to a private address (10.0.0.5)',
    );
    await expect(resolveWebhookAddress('10.0.0.5', OPEN, 2000)).resolves.toEqual({ address: '10.0.0.5', family: 4 });
    await expect(resolveWebhookAddress('::1', STRICT, 2000)).rejects.toThrow('resolves to a private address (::1)');
  });

  it('returns the first address of a public name', async () => {
    await expect(resolveWebhookAddress('public.test', STRICT, 2000)).resolves.toEqual({
      address: '93.184.215.14',
      family: 4,
    });
  });

  it('refuses a name when any of its addresses is forbidden', async () => {
    await expect(resolveWebhookAddress('mixed.test', STRICT, 2000)).rejects.toThrow(
      'resolves to a private address (10.0.0.5)',
    );
    await expect(resolveWebhookAddress('mapped.test', STRICT, 2000)).rejects.toThrow(
      'resolves to a private address (::ffff:169.254.169.254)',
    );
    await expect(resolveWebhookAddress('mixed.test', OPEN, 2000)).resolves.toEqual({
      address: '93.184.215.14',
      family: 4,
    });
  });

  it('fails on a name that does not resolve', async () => {
    // The real resolver: NXDOMAIN, or on a machine without DNS, the timeout; a WebhookAddressError either way.
    const error: unknown = await resolveWebhookAddress('nonexistent.invalid', OPEN, 3000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WebhookAddressError);
    expect((error as WebhookAddressError).message).toMatch(/^host name (does not resolve \(\w+\)|lookup took more)/);
  });

  it('fails when the lookup takes longer than the timeout', async () => {
    const started = performance.now();
    await expect(resolveWebhookAddress('hang.test', OPEN, 100)).rejects.toMatchObject({
      reason: 'timeout',
      message: 'host name lookup took more than 100 ms',
    });
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(95);
    expect(elapsed).toBeLessThan(1500);
  });
});
