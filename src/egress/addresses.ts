import ipaddr from 'ipaddr.js';
import { parseAddress, type Address } from '../cidr.ts';

/**
 * Where the gateway must not connect unless the operator allowed it: every range that is not a public unicast
 * destination. An address embedding an IPv4 address (IPv4-mapped, IPv4-compatible, NAT64 64:ff9b::/96, 6to4) is
 * judged by the IPv4 address it carries, so `::ffff:127.0.0.1` and `64:ff9b::a9fe:a9fe` fall with 127.0.0.1 and
 * 169.254.169.254.
 */
const FORBIDDEN_V4: readonly (readonly [string, string])[] = [
  ['0.0.0.0/8', 'unspecified'],
  ['10.0.0.0/8', 'private'],
  ['100.64.0.0/10', 'carrier-grade NAT'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local'],
  ['172.16.0.0/12', 'private'],
  ['192.0.0.0/24', 'IETF protocol assignments'],
  ['192.0.2.0/24', 'documentation'],
  ['192.88.99.0/24', '6to4 relay'],
  ['192.168.0.0/16', 'private'],
  ['198.18.0.0/15', 'benchmarking'],
  ['198.51.100.0/24', 'documentation'],
  ['203.0.113.0/24', 'documentation'],
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved'],
  ['255.255.255.255/32', 'broadcast'],
];
const FORBIDDEN_V6: readonly (readonly [string, string])[] = [
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['64:ff9b:1::/48', 'local NAT64'],
  ['100::/64', 'discard'],
  ['2001::/23', 'IETF protocol assignments'],
  ['2001:db8::/32', 'documentation'],
  ['3fff::/20', 'documentation'],
  ['fc00::/7', 'unique-local'],
  ['fe80::/10', 'link-local'],
  ['fec0::/10', 'site-local'],
  ['ff00::/8', 'multicast'],
];

type Range = readonly [Address, number, string];
const compile = (list: readonly (readonly [string, string])[]): Range[] =>
  list.map(([cidr, why]) => {
    const [a, b] = ipaddr.parseCIDR(cidr);
    return [a, b, why] as const;
  });
const V4 = compile(FORBIDDEN_V4);
const V6 = compile(FORBIDDEN_V6);

/** The IPv4 address an IPv6 address carries by a well-known translation, if any. */
function embeddedV4(a: ipaddr.IPv6): ipaddr.IPv4 | undefined {
  const p = a.parts;
  const tail = () => new ipaddr.IPv4([(p[6] ?? 0) >> 8, (p[6] ?? 0) & 0xff, (p[7] ?? 0) >> 8, (p[7] ?? 0) & 0xff]);
  if (a.isIPv4MappedAddress()) return a.toIPv4Address();
  // IPv4-compatible (::a.b.c.d, deprecated) and NAT64 well-known prefix 64:ff9b::/96.
  if (p[0] === 0 && p[1] === 0 && p[2] === 0 && p[3] === 0 && p[4] === 0 && p[5] === 0 && !(p[6] === 0 && (p[7] ?? 0) <= 1)) return tail();
  if (p[0] === 0x64 && p[1] === 0xff9b && p[2] === 0 && p[3] === 0 && p[4] === 0 && p[5] === 0) return tail();
  // 6to4 (2002:V4ADDR::/48).
  if (p[0] === 0x2002) return new ipaddr.IPv4([(p[1] ?? 0) >> 8, (p[1] ?? 0) & 0xff, (p[2] ?? 0) >> 8, (p[2] ?? 0) & 0xff]);
  return undefined;
}

/**
 * Why an address is not a public destination ('loopback', 'private', ...), or undefined when it is one. Text that is
 * not an address at all is refused too ('not an address'): this is only ever asked about resolved addresses.
 */
export function forbiddenReason(text: string | Address): string | undefined {
  const addr = typeof text === 'string' ? parseAddress(text) : text;
  if (addr === undefined) return 'not an address';
  if (addr instanceof ipaddr.IPv4) return V4.find(([net, bits]) => addr.match(net, bits))?.[2];
  const inner = embeddedV4(addr);
  if (inner !== undefined) {
    const why = forbiddenReason(inner);
    return why === undefined ? undefined : `${why} (embedded in IPv6)`;
  }
  return V6.find(([net, bits]) => addr.match(net, bits))?.[2];
}
