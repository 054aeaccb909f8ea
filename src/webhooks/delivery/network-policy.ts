import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { ExpectedError } from '../../common/errors/without-stack-trace';

/*
 * What a webhook URL may point at (SSRF): never this service's own host, its private
 * networks or the cloud metadata endpoints, unless the deployment says otherwise.
 * The URL is checked when it is registered (webhookUrlProblem, syntax only) and its
 * address again at every delivery (resolveWebhookAddress), since DNS answers change.
 */

export interface NetworkPolicy {
  /** Tests and private deployments deliver to 127.0.0.1 or an internal network, over http or https. */
  allowPrivateNetworks: boolean;
}

/** Longer URLs are refused unparsed: no receiver needs more, and the URL is stored and logged. */
export const MAX_WEBHOOK_URL_LENGTH = 2048;

/** Why an address was refused: `reason` lets the sender tell its own deadline from a refusal. */
export class WebhookAddressError extends ExpectedError {
  constructor(
    readonly reason: 'forbidden' | 'unresolved' | 'timeout',
    message: string,
  ) {
    super(message);
    this.name = 'WebhookAddressError';
  }
}

/** Host names that are this machine or its local network by convention, whatever DNS says. */
const LOCAL_NAME_SUFFIXES = ['.localhost', '.local', '.internal'];

const FORBIDDEN_IPV4: readonly [string, number][] = [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local: 169.254.169.254 is the cloud metadata endpoint
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, 255.255.255.255 included
];

/**
 * isForbiddenAddress refuses everything outside 2000::/3, the only global unicast space,
 * before it asks this list: the ranges outside it are listed anyway, so the list alone says
 * what the review asked for.
 */
const FORBIDDEN_IPV6: readonly [string, number][] = [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7], // unique local: fd00:ec2::254 is EC2's IPv6 metadata endpoint
  ['fe80::', 10],
  ['ff00::', 8],
  ['100::', 64], // discard-only
  ['2001:db8::', 32], // documentation
  // Not in the reviewed list but as unreachable for a receiver: IETF protocol assignments
  // (Teredo, benchmarking, ORCHID) and the newer documentation prefix.
  ['2001::', 23],
  ['3fff::', 20],
];

const FORBIDDEN = new BlockList();
for (const [network, prefix] of FORBIDDEN_IPV4) FORBIDDEN.addSubnet(network, prefix, 'ipv4');
FORBIDDEN.addAddress('255.255.255.255', 'ipv4');
for (const [network, prefix] of FORBIDDEN_IPV6) FORBIDDEN.addSubnet(network, prefix, 'ipv6');

/** Why `url` may not be a webhook URL (a short English sentence for an API error `detail`), or null when it may. Syntax and scheme only, no DNS. */
export function webhookUrlProblem(url: string, policy: NetworkPolicy): string | null {
  if (url.length > MAX_WEBHOOK_URL_LENGTH) return `url must be at most ${MAX_WEBHOOK_URL_LENGTH} characters`;
  // new URL silently drops tabs, newlines and surrounding spaces: the stored URL would not be the one delivered to.
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0020\u007f]/.test(url)) return 'url must not contain spaces or control characters';
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'url must be an absolute URL';
  }
  if (parsed.protocol !== 'https:' && !(policy.allowPrivateNetworks && parsed.protocol === 'http:')) {
    return policy.allowPrivateNetworks ? 'url must use https or http' : 'url must use https';
  }
  if (parsed.username !== '' || parsed.password !== '') return 'url must not contain a username or password';
  // `hash` is '' for a bare trailing '#' too; after a successful parse, any '#' starts the fragment.
  if (url.includes('#')) return 'url must not contain a fragment';
  const hostname = bareHostname(parsed.hostname);
  if (hostname === '') return 'url must have a host name';
  if (!policy.allowPrivateNetworks) {
    // new URL has already turned 0x7f.1, 2130706433 and the like into dotted decimal.
    if (isIP(hostname) !== 0) {
      if (isForbiddenAddress(hostname)) return 'url must not point to a private, loopback or reserved address';
    } else if (isLocalName(hostname)) {
      return 'url must not point to localhost or a .local or .internal host';
    }
  }
  return null;
}

/** True when `address` (an IPv4 or IPv6 literal) is one a webhook may never reach without allowPrivateNetworks. */
export function isForbiddenAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return FORBIDDEN.check(address, 'ipv4');
  // A zone id (fe80::1%eth0) names an interface of this host: never a receiver.
  if (family !== 6 || address.includes('%')) return true;
  const groups = ipv6Groups(address);
  const embedded = embeddedIpv4(groups);
  if (embedded !== null) return FORBIDDEN.check(embedded, 'ipv4');
  if ((groups[0] & 0xe000) !== 0x2000) return true;
  return FORBIDDEN.check(address, 'ipv6');
}

/**
 * Resolves `hostname` (all addresses, or the literal itself when it is an IP) and returns the
 * first allowed address. Throws WebhookAddressError when it does not resolve, when resolution
 * takes more than `timeoutMs`, or when ANY resolved address is forbidden: a name answering one
 * public and one private address is refused, since which one a client connects to is not ours
 * to choose reliably.
 */
export async function resolveWebhookAddress(
  hostname: string,
  policy: NetworkPolicy,
  timeoutMs: number,
): Promise<{ address: string; family: 4 | 6 }> {
  const name = bareHostname(hostname);
  const literal = isIP(name);
  const addresses = literal === 0 ? await lookupAll(name, timeoutMs) : [{ address: name, family: ipFamily(literal) }];
  if (!policy.allowPrivateNetworks) {
    const forbidden = addresses.find(({ address }) => isForbiddenAddress(address));
    if (forbidden) {
      throw new WebhookAddressError('forbidden', `resolves to a private address (${forbidden.address})`);
    }
  }
  const [first] = addresses;
  return { address: first.address, family: first.family };
}

/** Every address of `name`, within `timeoutMs` (getaddrinfo cannot be cancelled: a late answer is ignored). */
async function lookupAll(name: string, timeoutMs: number): Promise<{ address: string; family: 4 | 6 }[]> {
  if (name === '') throw new WebhookAddressError('unresolved', 'host name is empty');
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new WebhookAddressError('timeout', `host name lookup took more than ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  let answers: { address: string; family: number }[];
  try {
    answers = await Promise.race([lookup(name, { all: true }), deadline]);
  } catch (error) {
    if (error instanceof WebhookAddressError) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new WebhookAddressError('unresolved', `host name does not resolve (${code})`);
  } finally {
    clearTimeout(timer);
  }
  const addresses = answers.map(({ address, family }) => ({ address, family: ipFamily(family) }));
  if (addresses.length === 0) throw new WebhookAddressError('unresolved', 'host name has no address');
  return addresses;
}

function ipFamily(family: number): 4 | 6 {
  return family === 6 ? 6 : 4;
}

/** new URL keeps IPv6 literals in brackets ([::1]); lookups and checks want them without. */
function bareHostname(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}

function isLocalName(hostname: string): boolean {
  // A fully qualified name may end with a dot (localhost.): it names the same host.
  const name = (hostname.endsWith('.') ? hostname.slice(0, -1) : hostname).toLowerCase();
  return name === 'localhost' || LOCAL_NAME_SUFFIXES.some((suffix) => name.endsWith(suffix));
}

/** The eight 16-bit groups of a valid IPv6 literal (net.isIPv6 said so), a trailing dotted quad included. */
function ipv6Groups(address: string): number[] {
  let text = address.toLowerCase();
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number);
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...zeros, ...right].map((group) => parseInt(group, 16));
}

/** The first six groups of IPv6 addresses whose last 32 bits are an IPv4 address. */
const IPV4_EMBEDDING_PREFIXES: readonly (readonly number[])[] = [
  [0, 0, 0, 0, 0, 0xffff], // IPv4-mapped
  [0, 0, 0, 0, 0xffff, 0], // IPv4-translated (SIIT)
  [0, 0, 0, 0, 0, 0], // IPv4-compatible (deprecated); :: and ::1 land in 0.0.0.0/8
  [0x64, 0xff9b, 0, 0, 0, 0], // NAT64 well-known prefix
];

/**
 * The IPv4 address an IPv6 address stands for, when it embeds one: IPv4-mapped (::ffff:a.b.c.d),
 * IPv4-translated (::ffff:0:a.b.c.d), IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::/96) and 6to4
 * (2002::/16, the IPv4 in the next 32 bits). The host's stack or a gateway turns these into
 * the IPv4 address, so that is the one checked.
 */
function embeddedIpv4(groups: number[]): string | null {
  const quad = (high: number, low: number): string => `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
  if (groups[0] === 0x2002) return quad(groups[1], groups[2]);
  const embeds = IPV4_EMBEDDING_PREFIXES.some((prefix) => prefix.every((group, index) => groups[index] === group));
  return embeds ? quad(groups[6], groups[7]) : null;
}
