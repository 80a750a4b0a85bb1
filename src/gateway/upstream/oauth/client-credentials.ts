import { randomUUID } from 'node:crypto';
import { importPKCS8, SignJWT, type CryptoKey } from 'jose';
import { GatehouseError } from '../../../errors.ts';
import type { UpstreamAuth } from '../http-transport.ts';
import { parseBearerChallenge, unionScopes } from './challenge.ts';
import { authFailed, discover, type AuthServer, type Discovered, type OAuthFetch } from './discovery.ts';

export type TokenEndpointAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt' | 'none';

export interface ClientCredentials {
  readonly clientId: string;
  /** Opened from the vault only when a token is requested; absent for a public client (`none`). */
  readonly clientSecret: (() => Promise<string>) | undefined;
  /** For private_key_jwt: the PKCS#8 PEM key, opened only to sign an assertion, and its JWS algorithm. */
  readonly privateKey?: { readonly pem: () => Promise<string>; readonly alg: string } | undefined;
  /** The operator's scope; joined with what the upstream's challenges ask for. */
  readonly scope?: string | undefined;
  /** The operator's choice; otherwise the first the authorization server supports, in this type's order. */
  readonly authMethod?: TokenEndpointAuthMethod | undefined;
  /** When set, the only authorization server the credentials are ever sent to. */
  readonly issuer?: string | undefined;
}

/** Told each time a token is issued for the connector ("credential opened for use"): never the token itself. */
export type OnTokenIssued = (event: { readonly grant: string; readonly scope: string | undefined; readonly expiresInS: number }) => void;

interface HeldToken {
  readonly header: string;
  readonly scope: string | undefined;
  readonly expiresAt: number;
  /** When to fetch the next one: a tenth of the lifetime before expiry, at most a minute. */
  readonly renewAt: number;
}

/** A token answer without expires_in is kept this long: the upstream's next 401 fetches another anyway. */
const DEFAULT_LIFETIME_S = 300;
const MAX_LIFETIME_S = 24 * 3600;
const OAUTH_ERROR = /^[a-z_]{1,64}$/;

/**
 * OAuth client credentials (RFC 6749 §4.4, the MCP client-credentials extension) for one connector: one token for
 * the connector, whoever calls. Discovery starts from the upstream's first 401; tokens are asked for the upstream
 * as resource (RFC 8707), kept in memory and fetched again shortly before they expire; a 403 insufficient_scope
 * asks once more with the scopes the upstream names added. Concurrent challenges share one token request.
 */
export class ClientCredentialsAuth implements UpstreamAuth {
  readonly #serverUrl: URL;
  readonly #credentials: ClientCredentials;
  readonly #fetch: OAuthFetch;
  readonly #onIssued: OnTokenIssued | undefined;
  readonly #now: () => number;
  #discovered: Discovered | undefined;
  #metadataUrl: string | undefined;
  #token: HeldToken | undefined;
  #pending: Promise<void> | undefined;

  constructor(serverUrl: URL, credentials: ClientCredentials, fetcher: OAuthFetch, onIssued?: OnTokenIssued, now: () => number = Date.now) {
    this.#serverUrl = serverUrl;
    this.#credentials = credentials;
    this.#fetch = fetcher;
    this.#onIssued = onIssued;
    this.#now = now;
  }

  header(): string | undefined {
    const t = this.#token;
    return t !== undefined && this.#now() < t.expiresAt ? t.header : undefined;
  }

  prepare(): Promise<void> | undefined {
    const t = this.#token;
    if (this.#discovered === undefined || (t !== undefined && this.#now() < t.renewAt)) return undefined;
    const scope = t?.scope;
    const renewal = this.#once(() => this.#requestToken(scope));
    // A token that still works is used while its successor is refused (the authorization server is down).
    return t !== undefined && this.#now() < t.expiresAt ? renewal.catch(() => undefined) : renewal;
  }

  async challenge(status: number, wwwAuthenticate: string | undefined): Promise<boolean> {
    const c = parseBearerChallenge(wwwAuthenticate);
    if (status === 403 && c?.error !== 'insufficient_scope') return false;
    const held = this.#token;
    if (this.#pending !== undefined) {
      await this.#pending;
      return true;
    }
    const stepUp = status === 403;
    await this.#once(async () => {
      if (this.#discovered === undefined || (c?.resourceMetadata !== undefined && c.resourceMetadata !== this.#metadataUrl)) {
        const found = await discover(this.#fetch, this.#serverUrl, c);
        const expected = this.#credentials.issuer;
        if (expected !== undefined && found.server.issuer.replace(/\/+$/, '') !== expected.replace(/\/+$/, '')) {
          throw authFailed('The upstream names an authorization server other than the connector\'s issuer');
        }
        this.#discovered = found;
        this.#metadataUrl = c?.resourceMetadata;
      }
      const base = c?.scope ?? (this.#credentials.scope === undefined ? this.#discovered.scopesSupported?.join(' ') : undefined);
      const scope = unionScopes(stepUp ? held?.scope : undefined, this.#credentials.scope, base);
      if (stepUp && held !== undefined && scope === held.scope) throw authFailed('The upstream wants a scope the gateway\'s token already asked for');
      await this.#requestToken(scope);
    });
    return true;
  }

  /** RFC 7523 §3: a short-lived assertion, audience the authorization server's issuer, never used twice (jti). */
  async #assertion(issuer: string): Promise<string> {
    const key = this.#credentials.privateKey;
    if (key === undefined) throw authFailed('The connector has no private key for private_key_jwt');
    let signingKey: CryptoKey;
    try {
      signingKey = await importPKCS8(await key.pem(), key.alg);
    } catch (err) {
      throw authFailed('The connector\'s private key could not be used', err);
    }
    const id = this.#credentials.clientId;
    return new SignJWT({})
      .setProtectedHeader({ alg: key.alg })
      .setIssuer(id)
      .setSubject(id)
      .setAudience(issuer)
      .setJti(randomUUID())
      .setIssuedAt()
      .setExpirationTime('60s')
      .sign(signingKey);
  }

  #once(run: () => Promise<void>): Promise<void> {
    if (this.#pending !== undefined) return this.#pending;
    const p = run().finally(() => {
      this.#pending = undefined;
    });
    this.#pending = p;
    return p;
  }

  async #requestToken(scope: string | undefined): Promise<void> {
    const found = this.#discovered;
    if (found === undefined) throw authFailed('The upstream\'s authorization server is not known yet');
    const body = new URLSearchParams({ grant_type: 'client_credentials', resource: found.resource });
    if (scope !== undefined) body.set('scope', scope);
    const headers: Record<string, string> = { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' };
    const method = chooseAuthMethod(found.server, this.#credentials);
    const id = this.#credentials.clientId;
    if (method === 'private_key_jwt') {
      body.set('client_id', id);
      body.set('client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
      body.set('client_assertion', await this.#assertion(found.server.issuer));
    } else if (method === 'client_secret_basic') {
      const secret = (await this.#credentials.clientSecret?.()) ?? '';
      headers.authorization = `Basic ${Buffer.from(`${formEncode(id)}:${formEncode(secret)}`).toString('base64')}`;
    } else {
      body.set('client_id', id);
      if (method === 'client_secret_post') body.set('client_secret', (await this.#credentials.clientSecret?.()) ?? '');
    }
    const answer = await postToken(this.#fetch, found.server.tokenEndpoint, headers, body);
    const lifetime = Math.min(answer.expiresIn ?? DEFAULT_LIFETIME_S, MAX_LIFETIME_S);
    const now = this.#now();
    this.#token = {
      header: `Bearer ${answer.accessToken}`,
      scope: answer.scope ?? scope,
      expiresAt: now + lifetime * 1000,
      renewAt: now + lifetime * 1000 - Math.min(60_000, lifetime * 100),
    };
    this.#onIssued?.({ grant: 'client_credentials', scope: answer.scope ?? scope, expiresInS: lifetime });
  }
}

function chooseAuthMethod(server: AuthServer, c: ClientCredentials): TokenEndpointAuthMethod {
  if (c.authMethod !== undefined) return c.authMethod;
  if (c.privateKey !== undefined) return 'private_key_jwt';
  if (c.clientSecret === undefined) return 'none';
  for (const m of ['client_secret_basic', 'client_secret_post'] as const) if (server.authMethods.includes(m)) return m;
  throw authFailed('The authorization server supports none of the gateway\'s client authentication methods');
}

/** RFC 6749 §2.3.1: the client id and secret are form-encoded before they are joined for Basic. */
function formEncode(s: string): string {
  return new URLSearchParams({ v: s }).toString().slice(2);
}

export interface TokenAnswer {
  readonly accessToken: string;
  readonly expiresIn?: number | undefined;
  readonly scope?: string | undefined;
  readonly refreshToken?: string | undefined;
}

/**
 * One token request. The answer is checked before anything is kept; a refusal names only the OAuth error code
 * (a fixed vocabulary), never the server's description, which could carry anything.
 */
export async function postToken(fetcher: OAuthFetch, endpoint: string, headers: Record<string, string>, body: URLSearchParams): Promise<TokenAnswer> {
  let res: Response;
  try {
    res = await fetcher(endpoint, { method: 'POST', headers, body });
  } catch (err) {
    if (err instanceof GatehouseError) throw err;
    throw authFailed('The upstream\'s authorization server could not be reached', err);
  }
  let doc: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = await res.json();
    doc = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    doc = undefined;
  }
  if (!res.ok || doc === undefined) {
    const code = typeof doc?.error === 'string' && OAUTH_ERROR.test(doc.error) ? ` (${doc.error})` : ` (HTTP ${String(res.status)})`;
    throw authFailed(`The upstream's authorization server refused the gateway's token request${code}`);
  }
  const token = doc.access_token;
  // RFC 6750 b64token characters only: nothing that could break or extend the header it is sent in.
  if (typeof token !== 'string' || !/^[A-Za-z0-9\-._~+/]+=*$/.test(token)) throw authFailed('The authorization server answered without a usable access token');
  if (typeof doc.token_type !== 'string' || doc.token_type.toLowerCase() !== 'bearer') throw authFailed('The authorization server issued a token that is not a Bearer token');
  const expiresIn = typeof doc.expires_in === 'number' && Number.isFinite(doc.expires_in) && doc.expires_in > 0 ? doc.expires_in : undefined;
  return {
    accessToken: token,
    expiresIn,
    scope: typeof doc.scope === 'string' && doc.scope !== '' ? doc.scope : undefined,
    refreshToken: typeof doc.refresh_token === 'string' && doc.refresh_token !== '' ? doc.refresh_token : undefined,
  };
}
