import ipaddr from 'ipaddr.js';

/**
 * Addresses and CIDR ranges for network rules. An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`, what a socket bound
 * to `::` reports for an IPv4 peer) is compared as the IPv4 address it carries, and a mapped range
 * (`::ffff:10.0.0.0/104`) as the IPv4 range, so a rule written either way matches a peer reported either way.
 */
export type Address = ipaddr.IPv4 | ipaddr.IPv6;
type Range = [Address, number];

/** The address in `text`, IPv4-mapped IPv6 unwrapped to IPv4; undefined for anything else (hostnames, 0x7f.1, ...). */
export function parseAddress(text: string): Address | undefined {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return ipaddr.IPv4.parse(text);
  // A zone (fe80::1%eth0) names an interface, not a different address.
  const bare = text.includes('%') ? text.slice(0, text.indexOf('%')) : text;
  if (!ipaddr.IPv6.isValid(bare)) return undefined;
  const a = ipaddr.IPv6.parse(bare);
  return a.isIPv4MappedAddress() ? a.toIPv4Address() : a;
}

/** The canonical text of an address (IPv4 dotted quad, IPv6 RFC 5952), or undefined when it is not one. */
export function normalizeAddress(text: string): string | undefined {
  return parseAddress(text)?.toString();
}

function parseRange(text: string): Range | undefined {
  const slash = text.indexOf('/');
  const addrText = slash === -1 ? text : text.slice(0, slash);
  const bitsText = slash === -1 ? undefined : text.slice(slash + 1);
  if (bitsText !== undefined && !/^\d{1,3}$/.test(bitsText)) return undefined;
  if (addrText.includes('%')) return undefined;
  let addr: Address;
  if (ipaddr.IPv4.isValidFourPartDecimal(addrText)) addr = ipaddr.IPv4.parse(addrText);
  else if (ipaddr.IPv6.isValid(addrText)) addr = ipaddr.IPv6.parse(addrText);
  else return undefined;
  const max = addr.kind() === 'ipv4' ? 32 : 128;
  const bits = bitsText === undefined ? max : Number(bitsText);
  if (bits > max) return undefined;
  if (addr instanceof ipaddr.IPv6 && addr.isIPv4MappedAddress() && bits >= 96) return network(addr.toIPv4Address(), bits - 96);
  return network(addr, bits);
}

/** The range with its host bits cleared, so `10.1.2.3/8` and `10.0.0.0/8` are the same rule. */
function network(addr: Address, bits: number): Range {
  const bytes = addr.toByteArray();
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    bytes[i] = (bytes[i] ?? 0) & ((0xff << (8 - keep)) & 0xff);
  }
  return [ipaddr.fromByteArray(bytes), bits];
}

/** The canonical form of a CIDR (a bare address is a one-address range), or undefined when it is not one. */
export function normalizeCidr(text: string): string | undefined {
  const r = parseRange(text.trim());
  return r === undefined ? undefined : `${r[0].toString()}/${String(r[1])}`;
}

/** Whether every address of the range `inner` is inside the range `outer` (both CIDRs; false if either is not one). */
export function rangeWithin(inner: string, outer: string): boolean {
  const i = parseRange(inner.trim());
  const o = parseRange(outer.trim());
  return i !== undefined && o !== undefined && i[0].kind() === o[0].kind() && i[1] >= o[1] && i[0].match(o[0], o[1]);
}

export interface Allowlist {
  /** Whether the address is inside one of the ranges; an unknown or unreadable address never is. */
  allows(ip: string | Address | null | undefined): boolean;
}

/**
 * Compiles a list of CIDRs. An empty list allows nothing: a rule that lost its last range fails closed (no rule at
 * all is how "anywhere" is said). Entries that are not CIDRs are ignored; the services refuse them when stored.
 */
export function compileAllowlist(cidrs: readonly string[]): Allowlist {
  const ranges = cidrs.map((c) => parseRange(c.trim())).filter((r) => r !== undefined);
  return {
    allows(ip) {
      if (ip === null || ip === undefined) return false;
      const addr = typeof ip === 'string' ? parseAddress(ip) : ip;
      if (addr === undefined) return false;
      return ranges.some(([net, bits]) => net.kind() === addr.kind() && addr.match(net, bits));
    },
  };
}
