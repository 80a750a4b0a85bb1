import { compileAllowlist, parseAddress, type Address } from '../../cidr.ts';

/**
 * The address a request came from, as audit records and network rules see it. `X-Forwarded-For` is believed only
 * when the peer is a configured trusted proxy, and then only as far as the chain runs through trusted proxies: the
 * client is the rightmost address that is not one (what the nearest untrusted hop said it was, and nothing further
 * left, which that hop could have made up). Entries that are not addresses are skipped. Without trusted proxies the
 * header is ignored entirely.
 */
export function createClientIpResolver(trustedProxies: readonly string[]) {
  const trusted = compileAllowlist(trustedProxies);
  const believeForwarded = trustedProxies.length > 0;
  return function clientIp(remoteAddress: string | undefined, forwardedFor: string | string[] | undefined): string | null {
    const peer = remoteAddress === undefined ? undefined : parseAddress(remoteAddress);
    if (peer === undefined) return null;
    if (!believeForwarded || forwardedFor === undefined || !trusted.allows(peer)) return peer.toString();
    const entries = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',');
    let client: Address = peer;
    for (let i = entries.length - 1; i >= 0; i--) {
      const hop = parseHop(entries[i] ?? '');
      if (hop === undefined) continue;
      client = hop;
      if (!trusted.allows(hop)) break;
    }
    return client.toString();
  };
}

export type ClientIpResolver = ReturnType<typeof createClientIpResolver>;

/** One X-Forwarded-For entry: an address, IPv6 optionally in brackets, either optionally with a port. */
function parseHop(entry: string): Address | undefined {
  const e = entry.trim();
  if (e.length === 0 || e.length > 64) return undefined;
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(e);
  if (bracketed?.[1] !== undefined) return parseAddress(bracketed[1]);
  const v4port = /^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$/.exec(e);
  return parseAddress(v4port?.[1] ?? e);
}
