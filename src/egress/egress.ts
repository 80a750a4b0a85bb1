import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import { compileAllowlist, type Address, type Allowlist } from '../cidr.ts';
import { GatehouseError } from '../errors.ts';

/**
 * Where the gateway may connect to (SSRF). Every outbound connection to a connector goes through here: its URL is
 * parsed once with WHATWG rules (which also read 127.1, 0x7f.1, 2130706433, fullwidth and enclosed digits and
 * trailing dots as the addresses they are), then each address its host resolves to must be a public unicast
 * address - not loopback, private, link-local (169.254.169.254), CGNAT, unique-local, multicast, broadcast,
 * unspecified, documentation, benchmarking or reserved, nor an IPv6 form that embeds or translates IPv4 (mapped
 * addresses are judged as the IPv4 they carry; NAT64, 6to4 and Teredo are refused) - unless the operator allowed it
 * (`GATEHOUSE_EGRESS_ALLOW_CIDRS`). The socket is then connected to the very address that was checked (the Agent's
 * `lookup` resolves and checks on every new connection and hands back only that address), so a name that resolves
 * elsewhere the second time (DNS rebinding) gains nothing. Plain http is refused unless the operator allows it.
 */
export interface EgressPolicy {
  /** `GATEHOUSE_ALLOW_PLAIN_HTTP_UPSTREAMS`: http: URLs may be used at all. */
  readonly allowPlainHttp: boolean;
  /** `GATEHOUSE_EGRESS_ALLOW_CIDRS`: non-public destinations the operator allowed. */
  readonly allowed: Allowlist;
  /** How names are resolved: all addresses of a host (tests give their own). */
  readonly resolve: (hostname: string) => Promise<readonly { address: string; family: number }[]>;
}

export async function systemResolve(hostname: string): Promise<{ address: string; family: number }[]> {
  return dnsLookup(hostname, { all: true, order: 'verbatim' });
}

export function egressPolicy(options: { allowPlainHttp: boolean; allowCidrs: readonly string[]; resolve?: EgressPolicy['resolve'] }): EgressPolicy {
  return { allowPlainHttp: options.allowPlainHttp, allowed: compileAllowlist(options.allowCidrs), resolve: options.resolve ?? systemResolve };
}

function refused(reason: string): GatehouseError {
  return new GatehouseError('egress_refused', `Refused to connect: ${reason}`, { data: { reason } });
}

/** The range an address is in when it is not a public unicast one (ipaddr.js's names), else undefined. */
export function nonPublicRange(addr: Address): string | undefined {
  const a = addr instanceof ipaddr.IPv6 && addr.isIPv4MappedAddress() ? addr.toIPv4Address() : addr;
  const range = a.range();
  return range === 'unicast' ? undefined : range;
}

/** Parses and checks a connector URL; throws egress_refused naming what is wrong. */
export function checkUrl(text: string, policy: Pick<EgressPolicy, 'allowPlainHttp'>): URL {
  // Characters a browser would drop or fix silently are how parser confusion starts: refuse rather than guess.
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is looked for
  if (/[\s\\\u0000-\u001f\u007f]/.test(text)) throw refused('the URL contains whitespace, control characters or backslashes');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw refused('not a valid URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw refused(`the scheme ${url.protocol} is not allowed (https: only)`);
  if (url.protocol === 'http:' && !policy.allowPlainHttp) throw refused('plain http is not allowed for upstreams; use https (the operator may allow http: GATEHOUSE_ALLOW_PLAIN_HTTP_UPSTREAMS)');
  if (url.username !== '' || url.password !== '') throw refused('credentials in the URL are not allowed (use a secret header)');
  if (url.hostname === '') throw refused('the URL has no host');
  return url;
}

/** The host as an address when it is one (WHATWG already normalised IPv4 forms; IPv6 comes bracketed). */
function literal(hostname: string): string | undefined {
  const bare = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  return ipaddr.isValid(bare) ? bare : undefined;
}

/**
 * Resolves `hostname` and checks every address; returns the first, which the caller must connect to and no other.
 * Throws egress_refused when any address is not allowed, or the name does not resolve.
 */
export async function resolveChecked(hostname: string, policy: EgressPolicy): Promise<{ address: string; family: 4 | 6 }> {
  const lit = literal(hostname);
  let addresses: readonly { address: string; family: number }[];
  if (lit !== undefined) addresses = [{ address: lit, family: lit.includes(':') ? 6 : 4 }];
  else {
    try {
      addresses = await policy.resolve(hostname.endsWith('.') ? hostname.slice(0, -1) : hostname);
    } catch {
      throw refused(`the host ${hostname} does not resolve`);
    }
  }
  if (addresses.length === 0) throw refused(`the host ${hostname} does not resolve`);
  for (const { address } of addresses) {
    let parsed: Address;
    try {
      parsed = ipaddr.parse(address.includes('%') ? address.slice(0, address.indexOf('%')) : address);
    } catch {
      throw refused(`the host ${hostname} resolved to something that is not an address`);
    }
    const range = nonPublicRange(parsed);
    if (range !== undefined && !policy.allowed.allows(parsed)) {
      throw refused(`${hostname} ${lit === undefined ? 'resolves to' : 'is'} a ${range} address, which is not reachable through the gateway (the operator may allow it: GATEHOUSE_EGRESS_ALLOW_CIDRS)`);
    }
  }
  const first = addresses[0] as { address: string; family: number };
  return { address: first.address, family: first.family === 6 ? 6 : 4 };
}

/** A checked URL at creation time: its form, and where it resolves now. */
export async function checkDestination(text: string, policy: EgressPolicy): Promise<URL> {
  const url = checkUrl(text, policy);
  await resolveChecked(url.hostname, policy);
  return url;
}

/**
 * The `lookup` of an http(s).Agent: every new connection resolves and checks again, and connects to exactly the
 * address it checked. A refusal is the socket's error, carrying the GatehouseError as `cause`.
 */
export function pinnedLookup(policy: EgressPolicy): LookupFunction {
  return (hostname, options, callback) => {
    resolveChecked(hostname, policy).then(
      ({ address, family }) => {
        if (options.all === true) (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address, family }]);
        else callback(null, address, family);
      },
      (err: unknown) => {
        const e = Object.assign(new Error(err instanceof Error ? err.message : 'egress refused'), { code: 'EGRESS_REFUSED', cause: err });
        callback(e, '', 4);
      },
    );
  };
}
