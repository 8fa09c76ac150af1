/**
 * The SSRF guard. A webhook URL is checked twice: when it is saved (syntax, scheme, credentials, and literal
 * addresses) and at every delivery, where its host is resolved and each address classified with ipaddr.js.
 * Only globally routable unicast addresses pass — never loopback, private, link-local (cloud metadata at
 * 169.254.169.254), CGNAT, multicast, unspecified, reserved or translation prefixes that embed IPv4 — unless
 * a CIDR in WEBHOOK_ALLOW_NETWORKS allows it. The lookup that refuses an address is the one the connection
 * uses, so a DNS answer that changes between check and connect (rebinding) cannot slip past.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

export const MAX_URL_LENGTH = 2048;

/** Metadata services answer here; they fall in refused ranges anyway, but are named so that stays true. */
const METADATA = ['169.254.169.254', 'fd00:ec2::254', '100.100.100.200'];

export class SsrfError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SsrfError';
  }
}

type Addr = ipaddr.IPv4 | ipaddr.IPv6;
type Cidr = [Addr, number];

export class AddressPolicy {
  private readonly allow: Cidr[];

  constructor(allowNetworks: string[]) {
    this.allow = allowNetworks.map((c) => ipaddr.parseCIDR(c));
  }

  /** Why an address may not be contacted, or undefined when it may. */
  refusal(address: string): string | undefined {
    if (!ipaddr.isValid(address)) return `${address} is not an IP address`;
    let addr: Addr = ipaddr.parse(address);
    let compatible = false;
    if (addr.kind() === 'ipv6') {
      // ::ffff:10.0.0.1 reaches 10.0.0.1, and ::10.0.0.1 (IPv4-compatible, ::/96) embeds it too: judge the IPv4
      // address either carries. Read the 16-bit groups rather than trusting the parser with dotted suffixes.
      const p = (addr as ipaddr.IPv6).parts;
      const zeroPrefix = p.slice(0, 5).every((x) => x === 0);
      compatible = zeroPrefix && p[5] === 0 && (p[6] !== 0 || p[7]! > 1);
      if (zeroPrefix && (p[5] === 0xffff || compatible)) {
        addr = new ipaddr.IPv4([p[6]! >> 8, p[6]! & 0xff, p[7]! >> 8, p[7]! & 0xff]);
      }
    }
    const plain = addr.toString();
    if (this.allow.some(([net, bits]) => net.kind() === addr.kind() && addr.match(net, bits))) return undefined;
    // IPv4-compatible addresses are deprecated (RFC 4291 2.5.5.1) and never a public destination.
    if (compatible) return `${address} is an IPv4-compatible IPv6 address (embeds ${plain}), not a public one`;
    if (METADATA.includes(plain)) return `${plain} is a cloud metadata address`;
    const range = addr.range();
    if (range !== 'unicast') return `${plain} is a ${range} address, not a public one`;
    return undefined;
  }

  check(address: string): void {
    const why = this.refusal(address);
    if (why) throw new SsrfError(why);
  }

  /**
   * A drop-in for dns.lookup, for net/tls connect: resolves, refuses if any address is not allowed, and hands
   * the checked addresses to the connection.
   */
  readonly lookup = (
    hostname: string,
    options: { family?: number | string; all?: boolean },
    callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
  ): void => {
    dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const list = addresses as LookupAddress[];
      const refused = list.map((a) => this.refusal(a.address)).find((r) => r !== undefined);
      if (refused)
        return callback(Object.assign(new SsrfError(`${hostname} resolves to ${refused}`), { code: 'ESSRF' }), '', 0);
      if (!list.length)
        return callback(Object.assign(new Error(`${hostname} has no addresses`), { code: 'ENOTFOUND' }), '', 0);
      if (options.all) return callback(null, list);
      callback(null, list[0]!.address, list[0]!.family);
    });
  };
}

/** The host of a URL as an address when it is a literal one ("[::1]" → "::1"), else undefined. */
export function literalAddress(url: URL): string | undefined {
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return isIP(host) ? host : undefined;
}

const LOCAL_NAMES = /(^|\.)(localhost|localdomain|internal|local)$/i;

/**
 * Problems with a webhook URL that can be seen without DNS: not a URL, too long, scheme, credentials, a
 * literal address the policy refuses, a name that is local by definition. Empty when it is acceptable.
 */
export function urlProblems(raw: string, policy: AddressPolicy, requireHttps: boolean): string[] {
  if (raw.length > MAX_URL_LENGTH) return [`must be at most ${MAX_URL_LENGTH} characters`];
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return ['must be an absolute URL'];
  }
  const problems: string[] = [];
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    problems.push('must use https (or http outside production)');
  else if (requireHttps && url.protocol !== 'https:') problems.push('must use https');
  if (url.username || url.password)
    problems.push('must not carry credentials; authenticate deliveries by their signature');
  if (url.hash) problems.push('must not have a fragment');
  if (!url.hostname) problems.push('must name a host');
  const literal = literalAddress(url);
  if (literal) {
    const why = policy.refusal(literal);
    if (why) problems.push(`points at a non-public address: ${why}`);
  } else if (
    LOCAL_NAMES.test(url.hostname.replace(/\.$/, '')) &&
    policy.refusal('127.0.0.1') &&
    policy.refusal('::1')
  ) {
    problems.push('points at a local host name');
  }
  return problems;
}
