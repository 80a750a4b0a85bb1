import type { Egress, EgressOptions } from '../../../egress/egress.ts';
import { pinnedFetch } from '../../../egress/pinned-fetch.ts';
import { GatehouseError } from '../../../errors.ts';
import type { BearerChallenge } from './challenge.ts';

/** fetch for OAuth documents and endpoints: every URL, however it was learned, goes through egress first. */
export type OAuthFetch = (url: string, init?: RequestInit) => Promise<Response>;

export function egressFetcher(egress: Egress, options: EgressOptions): OAuthFetch {
  return async (text, init) => {
    const { url, addresses } = await egress.check(text, options);
    const pinned = addresses[0];
    if (pinned === undefined) throw new GatehouseError('egress_refused', 'Destination refused: the host name does not resolve');
    return pinnedFetch(url, pinned, init);
  };
}

/** What the gateway needs from an authorization server's metadata (RFC 8414 §2). */
export interface AuthServer {
  readonly issuer: string;
  readonly tokenEndpoint: string;
  readonly authorizationEndpoint?: string | undefined;
  readonly registrationEndpoint?: string | undefined;
  readonly revocationEndpoint?: string | undefined;
  /** RFC 8414's default when the server names none: client_secret_basic. */
  readonly authMethods: readonly string[];
  readonly scopesSupported?: readonly string[] | undefined;
  readonly codeChallengeMethods: readonly string[];
  readonly clientIdMetadataDocuments: boolean;
}

export interface Discovered {
  /** The resource indicator (RFC 8707) tokens are asked for: the metadata's `resource`, or the server URL. */
  readonly resource: string;
  /** The protected resource's `scopes_supported` (RFC 9728), when it names any. */
  readonly scopesSupported?: readonly string[] | undefined;
  readonly server: AuthServer;
}

export function authFailed(message: string, cause?: unknown): GatehouseError {
  return new GatehouseError('upstream_auth_failed', message, cause === undefined ? undefined : { cause });
}

/**
 * Finds the authorization server of an MCP server that answered 401, as the MCP authorization specification says:
 * the protected resource metadata (RFC 9728) named by the challenge, else at its well-known places (path-aware
 * first, then the root); its first authorization server's metadata (RFC 8414, then OpenID Connect discovery, with
 * the path-insertion variants). A server with no resource metadata is read the 2025-03-26 way: its origin is the
 * authorization server, with the default endpoints when that publishes no metadata either.
 */
export async function discover(fetcher: OAuthFetch, serverUrl: URL, challenge: BearerChallenge | undefined): Promise<Discovered> {
  const prm = await protectedResourceMetadata(fetcher, serverUrl, challenge?.resourceMetadata);
  if (prm === undefined) {
    const issuer = serverUrl.origin;
    return { resource: canonicalResource(serverUrl), server: (await authServerMetadata(fetcher, issuer, true)) ?? legacyEndpoints(issuer) };
  }
  const resource = typeof prm.resource === 'string' ? prm.resource : undefined;
  if (resource === undefined || !resourceCovers(resource, serverUrl)) {
    throw authFailed('The upstream\'s protected resource metadata names a different resource');
  }
  const servers = Array.isArray(prm.authorization_servers) ? prm.authorization_servers.filter((s): s is string => typeof s === 'string') : [];
  const issuer = servers[0];
  if (issuer === undefined) throw authFailed('The upstream\'s protected resource metadata names no authorization server');
  const server = await authServerMetadata(fetcher, issuer);
  if (server === undefined) throw authFailed('The upstream\'s authorization server publishes no metadata');
  return { resource, scopesSupported: stringList(prm.scopes_supported), server };
}

async function protectedResourceMetadata(fetcher: OAuthFetch, serverUrl: URL, named: string | undefined): Promise<Record<string, unknown> | undefined> {
  if (named !== undefined) {
    const doc = await getJson(fetcher, named);
    if (doc === undefined) throw authFailed('The upstream\'s protected resource metadata could not be read');
    return doc;
  }
  const path = serverUrl.pathname === '/' ? '' : serverUrl.pathname.replace(/\/$/, '');
  const candidates = path === '' ? [''] : [path, ''];
  for (const p of candidates) {
    const doc = await getJson(fetcher, `${serverUrl.origin}/.well-known/oauth-protected-resource${p}`);
    if (doc !== undefined) return doc;
  }
  return undefined;
}

async function authServerMetadata(fetcher: OAuthFetch, issuer: string, legacy = false): Promise<AuthServer | undefined> {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch (err) {
    throw authFailed('The upstream names an authorization server that is not a URL', err);
  }
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  const candidates =
    path === ''
      ? [`${url.origin}/.well-known/oauth-authorization-server`, `${url.origin}/.well-known/openid-configuration`]
      : [
          `${url.origin}/.well-known/oauth-authorization-server${path}`,
          `${url.origin}/.well-known/openid-configuration${path}`,
          `${url.origin}${path}/.well-known/openid-configuration`,
        ];
  for (const c of candidates) {
    const doc = await getJson(fetcher, c);
    if (doc === undefined) continue;
    // RFC 8414 §3.3: the issuer in the document is the one it was looked up for, or the document is not used.
    // A 2025-03-26 server's metadata is found at its origin and may name an issuer below it: same origin only.
    if (typeof doc.issuer !== 'string' || (trimSlash(doc.issuer) !== trimSlash(issuer) && !(legacy && sameOrigin(doc.issuer, url.origin)))) {
      throw authFailed('The authorization server\'s metadata names another issuer');
    }
    if (typeof doc.token_endpoint !== 'string') throw authFailed('The authorization server\'s metadata has no token endpoint');
    return {
      issuer: doc.issuer,
      tokenEndpoint: doc.token_endpoint,
      authorizationEndpoint: optionalString(doc.authorization_endpoint),
      registrationEndpoint: optionalString(doc.registration_endpoint),
      revocationEndpoint: optionalString(doc.revocation_endpoint),
      authMethods: stringList(doc.token_endpoint_auth_methods_supported) ?? ['client_secret_basic'],
      scopesSupported: stringList(doc.scopes_supported),
      codeChallengeMethods: stringList(doc.code_challenge_methods_supported) ?? [],
      clientIdMetadataDocuments: doc.client_id_metadata_document_supported === true,
    };
  }
  return undefined;
}

/** 2025-03-26: an authorization server without metadata serves these paths at its origin. */
function legacyEndpoints(origin: string): AuthServer {
  return {
    issuer: origin,
    tokenEndpoint: `${origin}/token`,
    authorizationEndpoint: `${origin}/authorize`,
    registrationEndpoint: `${origin}/register`,
    authMethods: ['client_secret_basic'],
    codeChallengeMethods: ['S256'],
    clientIdMetadataDocuments: false,
  };
}

/** GET a JSON object; undefined when the server has none there (any non-2xx). Egress refusals propagate. */
async function getJson(fetcher: OAuthFetch, url: string): Promise<Record<string, unknown> | undefined> {
  let res: Response;
  try {
    res = await fetcher(url, { headers: { accept: 'application/json' } });
  } catch (err) {
    if (err instanceof GatehouseError) throw err;
    throw authFailed('An OAuth discovery document could not be fetched', err);
  }
  if (!res.ok) return undefined;
  try {
    const doc: unknown = await res.json();
    return typeof doc === 'object' && doc !== null && !Array.isArray(doc) ? (doc as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** RFC 8707 §2: the server URL without fragment, and without a trailing slash on an empty path. */
export function canonicalResource(url: URL): string {
  const u = new URL(url.href);
  u.hash = '';
  return u.pathname === '/' && u.search === '' ? u.origin : u.href;
}

/** A resource identifier covers the server when it has the same origin and its path is a prefix of the server's. */
export function resourceCovers(resource: string, serverUrl: URL): boolean {
  let r: URL;
  try {
    r = new URL(resource);
  } catch {
    return false;
  }
  if (r.origin !== serverUrl.origin) return false;
  const rp = r.pathname.endsWith('/') ? r.pathname : `${r.pathname}/`;
  const sp = serverUrl.pathname.endsWith('/') ? serverUrl.pathname : `${serverUrl.pathname}/`;
  return sp.startsWith(rp);
}

function sameOrigin(a: string, origin: string): boolean {
  try {
    return new URL(a).origin === origin;
  } catch {
    return false;
  }
}

function trimSlash(s: string): string {
  return s.replace(/\/+$/, '');
}

function optionalString(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function stringList(v: unknown): string[] | undefined {
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : undefined;
}
