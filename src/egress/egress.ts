import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupAddress, LookupOptions } from 'node:dns';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { isIP } from 'node:net';
import { compileAllowlist, parseAddress, type Allowlist } from '../cidr.ts';
import { GatehouseError } from '../errors.ts';
import { forbiddenReason } from './addresses.ts';

/** Names to addresses. Injectable so tests decide what a name resolves to (never /etc/hosts). */
export type Resolver = (hostname: string) => Promise<readonly string[]>;

export const systemResolver: Resolver = async (hostname) => (await dnsLookup(hostname, { all: true, order: 'verbatim' })).map((a) => a.address);

export interface EgressSettings {
  /** GATEHOUSE_ALLOW_PLAIN_HTTP_UPSTREAMS: http:// destinations too, not only https://. */
  readonly allowPlainHttp: boolean;
  /** GATEHOUSE_EGRESS_ALLOW_CIDRS: non-public ranges the operator allows for every destination. */
  readonly allowCidrs: readonly string[];
}

/** What a destination may reach beyond the public internet: the operator's per-connector flag. */
export interface EgressOptions {
  readonly allowPrivateNetwork?: boolean | undefined;
}

/** Which allowance let a non-public address through, for the audit record. */
export type Allowance = 'egress_allow_cidrs' | 'connector_allow_private_network';

export interface CheckedAddress {
  readonly address: string;
  readonly family: 4 | 6;
  /** Set when the address is not public and an allowance admitted it. */
  readonly allowance: Allowance | undefined;
}

/** Told on every new connection which address it was pinned to (and by which allowance, if any). */
export type OnPinned = (checked: CheckedAddress) => void;

export interface Egress {
  /** Parses and checks a URL without resolving it; throws `egress_refused`. */
  parse(text: string, options?: EgressOptions): URL;
  /** Parses, resolves and checks every address; throws `egress_refused`. */
  check(text: string, options?: EgressOptions): Promise<{ url: URL; addresses: readonly CheckedAddress[] }>;
  /** A keep-alive agent whose every new socket resolves, checks and pins its address (no second lookup). */
  agent(url: URL, options?: EgressOptions, onPinned?: OnPinned): HttpAgent;
  /** fetch for the gateway's own HTTP calls (OAuth discovery, tokens, JWKS): same rules, no redirects followed. */
  readonly fetch: typeof fetch;
}

export function egressRefused(reason: string, cause?: unknown): GatehouseError {
  return new GatehouseError('egress_refused', `Destination refused: ${reason}`, cause === undefined ? undefined : { cause });
}

/**
 * The one door out. A URL is parsed once (WHATWG), must be https (http only when the operator allows it), and must
 * not carry credentials; its host is resolved and EVERY address checked against the non-public ranges
 * (addresses.ts), unless the operator's CIDR list or the connector's private-network flag admits it. Connections
 * are pinned: the agent's `lookup` resolves and checks on each new socket and hands the socket only the checked
 * address, so a name that rebinds between the check and the connect changes nothing. TLS still verifies the
 * certificate against the hostname (the request keeps it as servername).
 */
export function createEgress(settings: EgressSettings, resolver: Resolver = systemResolver): Egress {
  const allowed: Allowlist = compileAllowlist(settings.allowCidrs);

  function judge(address: string, options: EgressOptions | undefined): CheckedAddress {
    const parsed = parseAddress(address);
    const why = forbiddenReason(parsed ?? address);
    const family = parsed?.kind() === 'ipv6' ? 6 : 4;
    const text = parsed?.toString() ?? address;
    if (why === undefined) return { address: text, family, allowance: undefined };
    if (why !== 'not an address' && allowed.allows(parsed)) return { address: text, family, allowance: 'egress_allow_cidrs' };
    if (why !== 'not an address' && options?.allowPrivateNetwork === true) return { address: text, family, allowance: 'connector_allow_private_network' };
    throw egressRefused(`the address is ${why}; an operator can allow it (GATEHOUSE_EGRESS_ALLOW_CIDRS or --allow-private-network)`);
  }

  function parse(text: string, options?: EgressOptions): URL {
    // Parser-confusing input: whitespace or control characters the WHATWG parser would silently strip, backslashes
    // it would read as slashes.
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u0020\u007f\\]/.test(text)) throw egressRefused('the URL has spaces, control characters or backslashes');
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw egressRefused('not a valid URL');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw egressRefused('only https:// URLs are allowed');
    if (url.protocol === 'http:' && !settings.allowPlainHttp) {
      throw egressRefused('plain http:// is not allowed (use https://, or an operator sets GATEHOUSE_ALLOW_PLAIN_HTTP_UPSTREAMS)');
    }
    // `https:/x`, `https:///x` parse as https://x/: a URL must say `scheme://host` as written.
    if (!/^https?:\/\/[^/]/i.test(text)) throw egressRefused('the URL must be written scheme://host/...');
    if (url.username !== '' || url.password !== '') throw egressRefused('credentials in the URL are not allowed (use a secret header)');
    if (url.hostname === '') throw egressRefused('the URL has no host');
    const literal = hostAddress(url);
    if (literal !== undefined) judge(literal, options);
    return url;
  }

  async function resolve(url: URL, options: EgressOptions | undefined): Promise<CheckedAddress[]> {
    const literal = hostAddress(url);
    if (literal !== undefined) return [judge(literal, options)];
    let addresses: readonly string[];
    try {
      addresses = await resolver(url.hostname.replace(/\.$/, ''));
    } catch (err) {
      throw egressRefused('the host name does not resolve', err);
    }
    if (addresses.length === 0) throw egressRefused('the host name does not resolve');
    // Every address, not the first: a name with one public and one private address is refused.
    return addresses.map((a) => judge(a, options));
  }

  return {
    parse,
    async check(text, options) {
      const url = parse(text, options);
      return { url, addresses: await resolve(url, options) };
    },
    agent(url, options, onPinned) {
      const lookup = (_host: string, lookupOptions: LookupOptions, callback: (...args: unknown[]) => void): void => {
        resolve(url, options).then(
          (checked) => {
            const pinned = checked[0] as CheckedAddress;
            onPinned?.(pinned);
            if (lookupOptions.all === true) callback(null, [{ address: pinned.address, family: pinned.family } satisfies LookupAddress]);
            else callback(null, pinned.address, pinned.family);
          },
          (err: unknown) => {
            callback(err);
          },
        );
      };
      const common = { keepAlive: true, maxSockets: 256, lookup: lookup as never };
      // An IP literal never reaches `lookup`: parse() judged it, and it cannot change.
      if (hostAddress(url) !== undefined) parse(url.href, options);
      return url.protocol === 'https:' ? new HttpsAgent(common) : new HttpAgent(common);
    },
    fetch: ((input: string | URL | Request, init?: RequestInit) => egressFetch(input, init)),
  };

  async function egressFetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    const { pinnedFetch } = await import('./pinned-fetch.ts');
    const href = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const url = parse(href);
    const [pinned] = await resolve(url, undefined);
    if (pinned === undefined) throw egressRefused('the host name does not resolve');
    return pinnedFetch(url, pinned, init);
  }
}

/** The address a URL's host is written as (IPv6 without brackets), or undefined for a name. */
function hostAddress(url: URL): string | undefined {
  const h = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return isIP(h) === 0 ? undefined : h;
}
