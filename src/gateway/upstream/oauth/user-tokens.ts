import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Egress } from '../../../egress/egress.ts';
import { GatehouseError } from '../../../errors.ts';
import type { ConnectorOAuth, ConnectorRecord, Store } from '../../../store/types.ts';
import type { UpstreamTokenStore } from '../../../store/upstream-token-types.ts';
import type { Vault } from '../../../vault/vault.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import { credentialOpenEvent, type Requester } from '../credentials.ts';
import type { UpstreamAuth } from '../http-transport.ts';
import { authorizationUrl, pickMethod, pkcePair, registerClient, revokeToken, tokenRequest, type OAuthClient } from './authorization-code.ts';
import { parseBearerChallenge, unionScopes, type BearerChallenge } from './challenge.ts';
import type { TokenAnswer } from './client-credentials.ts';
import { authFailed, discover, egressFetcher, type Discovered, type OAuthFetch } from './discovery.ts';
import { UserTokenAuth } from './user-token-auth.ts';
import {
  connectBinding, connectRoute, sealedClient, sha256, tokenKey, upstreamTokenBinding, userMode, type ConnectorState, type Held, type Pending, type Sealed, type SealedClient,
} from './user-token-records.ts';

export { connectRoute, upstreamTokenBinding } from './user-token-records.ts';

export interface UserOAuthDeps {
  readonly store: { readonly upstreamTokens: UpstreamTokenStore } & Pick<Store, 'getMember'>;
  readonly vault: Pick<Vault, 'seal' | 'open'>;
  readonly egress: Egress;
  readonly audit: AuditLog;
  /** The gateway's base URL as a person's browser reaches it: the callback is below it. */
  readonly base: () => string;
  /** The https URL where the gateway's client ID metadata document is published, when the operator set one. */
  readonly clientMetadataUrl: string | undefined;
  /** Opens the connector's configured client secret for a token request (credentials.ts audits it). */
  readonly openSecret: (connector: ConnectorRecord, ciphertext: string) => Promise<string>;
  /** The connector as stored now, for revoking a user's tokens when only its id is known. */
  readonly connector: (orgId: string, connectorId: string) => Promise<ConnectorRecord | undefined>;
  /** Someone connected: the connector's shared connection can now read its listing with a person's token. */
  readonly onConnected: (connector: ConnectorRecord) => void;
  readonly now?: () => number;
}

export const CALLBACK_PATH = '/auth/upstream/callback';
export const CLIENT_METADATA_PATH = '/auth/upstream/client-metadata.json';
const STATE_TTL_MS = 10 * 60_000;
const MAX_LIFETIME_S = 30 * 24 * 3600;
const OAUTH_ERROR = /^[a-z_]{1,64}$/;

/**
 * Upstream OAuth per user (the MCP authorization specification's authorization-code flow): each person connects
 * their own account once through the browser; their tokens are sealed under the organisation's data key, bound to
 * (org, user, connector), refreshed shortly before they expire (and once on a 401), their refresh tokens rotated, and
 * revoked at the authorization server (RFC 7009) when the person disconnects or is deactivated. Every URL the
 * metadata names is an egress destination. The agent's own credential is never part of any of it.
 */
export class UserOAuth {
  readonly #deps: UserOAuthDeps;
  readonly #now: () => number;
  readonly #states = new Map<string, ConnectorState>();
  readonly #held = new Map<string, Held>();
  readonly #refreshing = new Map<string, Promise<Held | undefined>>();

  constructor(deps: UserOAuthDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
  }

  /** Where a person opens their connect (the admin API's redirect to the authorization server). */
  connectUrl(connector: Pick<ConnectorRecord, 'id'>): string {
    return `${this.#deps.base().replace(/\/+$/, '')}${connectRoute(connector)}`;
  }

  get callbackUrl(): string {
    return `${this.#deps.base().replace(/\/+$/, '')}${CALLBACK_PATH}`;
  }

  /** The gateway's client ID metadata document, served at CLIENT_METADATA_PATH; undefined when none is configured. */
  clientMetadata(): Record<string, unknown> | undefined {
    const id = this.#deps.clientMetadataUrl;
    if (id === undefined) return undefined;
    return {
      client_id: id,
      client_name: 'Gatehouse',
      redirect_uris: [this.callbackUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }

  /** An UpstreamAuth for a connection: a person's session (their own tokens) or the shared one (the latest person's). */
  /**
   * An UpstreamAuth for a connection: a person's session (`userId`: their own tokens), a session whose key acts for
   * no person (`null`: never a token, its calls are refused), or the connector's shared connection (`undefined`:
   * the latest person's, to read the connector's listing).
   */
  authFor(connector: ConnectorRecord, userId: string | null | undefined): UpstreamAuth {
    return new UserTokenAuth(this, connector, userId === undefined ? { shared: true } : userId === null ? { nobody: true } : { userId });
  }

  /**
   * Starts a person's connect: the authorization URL (PKCE S256, a single-use state that expires in ten minutes,
   * the resource indicator, the chosen scopes) their browser is sent to.
   */
  async start(connector: ConnectorRecord, userId: string, requester: Requester): Promise<{ authorizationUrl: string; expiresAt: string; browser: string }> {
    const { oauth, url: text, allowPrivateNetwork } = userMode(connector);
    const options = { allowPrivateNetwork };
    const fetcher = egressFetcher(this.#deps.egress, options);
    const url = this.#deps.egress.parse(text, options);
    const st = this.#state(connector);
    const challenge = st.challenge ?? (await probe(fetcher, url));
    const discovered = await discover(fetcher, url, challenge);
    if (oauth.issuer !== undefined && discovered.server.issuer.replace(/\/+$/, '') !== oauth.issuer.replace(/\/+$/, '')) {
      throw authFailed('The upstream names an authorization server other than the connector\'s issuer');
    }
    st.discovered = discovered;
    const redirectUri = this.callbackUrl;
    const client = await this.#client(connector, oauth, st, discovered, fetcher, redirectUri);
    const wanted = st.wanted.get(userId);
    const held = wanted === undefined ? undefined : await this.held(connector, userId, requester).catch(() => undefined);
    let scope = unionScopes(held?.scope, wanted, challenge?.scope ?? oauth.scope ?? discovered.scopesSupported?.join(' '));
    // A refresh token is what lets a person connect once: asked for when the server lists offline_access.
    if (scope !== undefined && discovered.server.scopesSupported?.includes('offline_access') === true) scope = unionScopes(scope, 'offline_access');
    const { verifier, challenge: codeChallenge } = pkcePair();
    const state = randomBytes(32).toString('base64url');
    const expires = this.#now() + STATE_TTL_MS;
    // The browser that starts the connect holds this (a cookie) and must be the one that comes back: a connect link
    // handed to someone else cannot put their upstream account under the starter's name.
    const browser = randomBytes(32).toString('base64url');
    const pending: Pending = { keyId: requester.keyId, verifier, redirectUri, discovered, client: await sealedClient(connector, client), version: connector.updatedAt, browser: sha256(browser).toString('hex') };
    await this.#deps.store.upstreamTokens.putUpstreamConnect({
      stateHash: sha256(state).toString('hex'),
      orgId: connector.orgId,
      userId,
      connectorId: connector.id,
      sealed: await this.#deps.vault.seal(connector.orgId, JSON.stringify(pending), connectBinding(connector.orgId, userId, connector.id)),
      expiresAt: new Date(expires).toISOString(),
    });
    const authorization = authorizationUrl({ server: discovered.server, client, redirectUri, state, challenge: codeChallenge, resource: discovered.resource, scope });
    return { authorizationUrl: authorization, expiresAt: new Date(expires).toISOString(), browser };
  }

  /** The browser came back: the code is exchanged (once: the state is gone after this) and the tokens sealed. */
  async finish(query: URLSearchParams, browser: string | undefined): Promise<{ orgId: string; connector: string }> {
    const state = query.get('state') ?? '';
    const row = state === '' || state.length > 256 ? undefined : await this.#deps.store.upstreamTokens.takeUpstreamConnect(sha256(state).toString('hex'), new Date(this.#now()).toISOString());
    if (row === undefined) throw new GatehouseError('bad_request', 'This connect link is unknown, used or expired: start again');
    const { orgId, userId } = row;
    let p: Pending;
    try {
      p = JSON.parse(await this.#deps.vault.open(orgId, row.sealed, connectBinding(orgId, userId, row.connectorId))) as Pending;
    } catch (err) {
      throw new GatehouseError('credential_unavailable', 'This connect cannot be opened: start again', { cause: err });
    }
    if (browser === undefined || !timingSafeEqual(sha256(browser), Buffer.from(p.browser, 'hex'))) {
      throw new GatehouseError('forbidden', 'This connect was started in another browser: start it again from the browser you connect with');
    }
    // Removed from the organisation since the start: nothing is stored for them.
    if ((await this.#deps.store.getMember(orgId, userId)) === undefined) throw new GatehouseError('forbidden', 'You are no longer a member of this organisation');
    const connector = await this.#deps.connector(orgId, row.connectorId);
    if (connector === undefined || connector.updatedAt !== p.version) throw new GatehouseError('conflict', 'The connector changed while you were connecting: start again');
    const requester: Requester = { keyId: p.keyId, user: userId };
    const error = query.get('error');
    if (error !== null) throw authFailed(`The authorization server refused the connect${OAUTH_ERROR.test(error) ? ` (${error})` : ''}`);
    const code = query.get('code');
    if (code === null || code === '' || code.length > 4096) throw new GatehouseError('bad_request', 'The authorization server sent no code');
    // RFC 9207: a server that names itself must be the one the request went to (mix-up attacks).
    const iss = query.get('iss');
    if (iss !== null && iss.replace(/\/+$/, '') !== p.discovered.server.issuer.replace(/\/+$/, '')) throw authFailed('The answer came from another authorization server');
    const { oauth, allowPrivateNetwork } = userMode(connector);
    const fetcher = egressFetcher(this.#deps.egress, { allowPrivateNetwork });
    // The client the code was issued to: a configured one as configured, a registered one as it was sealed.
    const client: OAuthClient =
      p.client.id === oauth.clientId
        ? await this.#client(connector, oauth, this.#state(connector), p.discovered, fetcher, p.redirectUri)
        : { clientId: p.client.id, method: p.client.method, secret: p.client.secret === undefined ? undefined : () => Promise.resolve(p.client.secret ?? '') };
    const answer = await tokenRequest(fetcher, p.discovered.server, client, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: p.redirectUri,
      code_verifier: p.verifier,
      resource: p.discovered.resource,
    });
    await this.#keep(connector, userId, answer, undefined, p.client);
    this.#state(connector).wanted.delete(userId);
    await this.#deps.audit.record(credentialOpenEvent({ orgId, connector: connector.name, purpose: 'oauth_user_connect', requester, credentials: ['oauth/user_token'] }));
    this.#deps.onConnected(connector);
    return { orgId, connector: connector.name };
  }

  /** The person's tokens are deleted and revoked at the server (when it offers revocation). */
  async disconnect(connector: ConnectorRecord, userId: string): Promise<{ removed: boolean; revoked: boolean }> {
    const key = tokenKey(connector.orgId, userId, connector.id);
    const row = await this.#deps.store.upstreamTokens.getUpstreamToken(connector.orgId, userId, connector.id);
    this.#held.delete(key);
    if (row === undefined) return { removed: false, revoked: false };
    await this.#deps.store.upstreamTokens.deleteUpstreamToken(connector.orgId, userId, connector.id);
    const event = { orgId: connector.orgId, connector: connector.name, purpose: 'oauth_token_revoke', requester: { keyId: null, user: userId }, credentials: ['oauth/user_token'] };
    try {
      const held = JSON.parse(await this.#deps.vault.open(connector.orgId, row.sealed, upstreamTokenBinding(connector.orgId, userId, connector.id))) as Sealed;
      await this.#deps.audit.record(credentialOpenEvent(event));
      // Tokens obtained at another URL the connector pointed to are not sent to its current authorization server.
      if (held.url !== userMode(connector).url) return { removed: true, revoked: false };
      const { fetcher, discovered, client } = await this.#server(connector, held.client);
      // RFC 7009 §2.1: revoking the refresh token ends the grant, its access tokens with it where the server can.
      const revoked = await revokeToken(fetcher, discovered.server, client, held.refresh ?? held.access, held.refresh === undefined ? 'access_token' : 'refresh_token');
      return { removed: true, revoked };
    } catch {
      // The tokens are gone from the gateway either way; a server that cannot be told keeps them until they expire.
      return { removed: true, revoked: false };
    }
  }

  /** Every connector's tokens of a person (SCIM deactivation, removal): deleted and revoked. */
  async disconnectUser(orgId: string, userId: string): Promise<number> {
    const rows = await this.#deps.store.upstreamTokens.listUpstreamTokensOfUser(orgId, userId);
    let n = 0;
    for (const r of rows) {
      const connector = await this.#deps.connector(orgId, r.connectorId);
      if (connector === undefined) {
        await this.#deps.store.upstreamTokens.deleteUpstreamToken(orgId, userId, r.connectorId);
        this.#held.delete(tokenKey(orgId, userId, r.connectorId));
      } else await this.disconnect(connector, userId);
      n++;
    }
    return n;
  }

  // --- for UserTokenAuth ---

  noteChallenge(connector: ConnectorRecord, c: BearerChallenge | undefined): void {
    if (c !== undefined) this.#state(connector).challenge = c;
  }

  wantScope(connector: ConnectorRecord, userId: string, scope: string): void {
    this.#state(connector).wanted.set(userId, scope);
  }

  cached(connector: ConnectorRecord, userId: string): Held | undefined {
    const key = tokenKey(connector.orgId, userId, connector.id);
    const held = this.#held.get(key);
    if (held === undefined || held.url === userMode(connector).url) return held;
    // Held for the URL the connector had: not for the one it has now (held() drops the stored row too).
    this.#held.delete(key);
    return undefined;
  }

  /** The tokens the person holds for the connector now (for the echo scrub), or none. */
  liveTokens(connector: ConnectorRecord, userId: string): readonly string[] {
    const t = connector.transport;
    if (t.type !== 'http' || t.oauth?.mode !== 'user') return [];
    const h = this.cached(connector, userId);
    return h === undefined ? [] : h.refresh === undefined ? [h.access] : [h.access, h.refresh];
  }

  /** The person's tokens, opened from the store when not held yet (an audited opening), or undefined. */
  async held(connector: ConnectorRecord, userId: string, requester: Requester, fresh = false): Promise<Held | undefined> {
    const key = tokenKey(connector.orgId, userId, connector.id);
    const cached = this.#held.get(key);
    if (cached !== undefined && !fresh && cached.url === userMode(connector).url) return cached;
    const row = await this.#deps.store.upstreamTokens.getUpstreamToken(connector.orgId, userId, connector.id);
    if (row === undefined) {
      this.#held.delete(key);
      return undefined;
    }
    const event = { orgId: connector.orgId, connector: connector.name, purpose: 'oauth_user_token', requester, credentials: ['oauth/user_token'] };
    let opened: Sealed;
    try {
      opened = JSON.parse(await this.#deps.vault.open(connector.orgId, row.sealed, upstreamTokenBinding(connector.orgId, userId, connector.id))) as Sealed;
    } catch (err) {
      await this.#deps.audit.record(credentialOpenEvent({ ...event, failed: true }));
      throw new GatehouseError('credential_unavailable', `The OAuth tokens for connector '${connector.name}' cannot be opened; the request was not sent`, { cause: err });
    }
    if (opened.url !== userMode(connector).url) {
      // The connector now points elsewhere: tokens obtained for the old URL are never sent there. They are dropped
      // (and the person connects again), without an opening to audit: nothing was used.
      await this.#deps.store.upstreamTokens.deleteUpstreamToken(connector.orgId, userId, connector.id);
      this.#held.delete(key);
      return undefined;
    }
    await this.#deps.audit.record(credentialOpenEvent(event));
    const held: Held = { access: opened.access, refresh: opened.refresh, scope: row.scope ?? undefined, expiresAt: row.expiresAt === null ? undefined : Date.parse(row.expiresAt), client: opened.client, url: opened.url };
    this.#held.set(key, held);
    return held;
  }

  /** The user who connected last: the shared connection reads the connector's listing with their token. */
  async latestUser(connector: ConnectorRecord): Promise<string | undefined> {
    return (await this.#deps.store.upstreamTokens.latestUpstreamToken(connector.orgId, connector.id))?.userId;
  }

  /** A new access token from the refresh token (one request at a time per person and connector), or undefined. */
  refresh(connector: ConnectorRecord, userId: string, requester: Requester): Promise<Held | undefined> {
    const key = tokenKey(connector.orgId, userId, connector.id);
    const running = this.#refreshing.get(key);
    if (running !== undefined) return running;
    const run = (async () => {
      const held = await this.held(connector, userId, requester);
      if (held?.refresh === undefined) return undefined;
      const { fetcher, discovered, client } = await this.#server(connector, held.client);
      const answer = await tokenRequest(fetcher, discovered.server, client, { grant_type: 'refresh_token', refresh_token: held.refresh, resource: discovered.resource });
      await this.#deps.audit.record(credentialOpenEvent({ orgId: connector.orgId, connector: connector.name, purpose: 'oauth_token_refresh', requester, credentials: ['oauth/user_token'] }));
      return this.#keep(connector, userId, answer, held, undefined);
    })()
      .catch(() => undefined)
      .finally(() => this.#refreshing.delete(key));
    this.#refreshing.set(key, run);
    return run;
  }

  now(): number {
    return this.#now();
  }

  // --- internals ---

  async #keep(connector: ConnectorRecord, userId: string, answer: TokenAnswer, previous: Held | undefined, client: SealedClient | undefined): Promise<Held> {
    const lifetime = answer.expiresIn === undefined ? undefined : Math.min(answer.expiresIn, MAX_LIFETIME_S);
    const now = this.#now();
    // A rotated refresh token replaces the old one; a server that sends none keeps the old one valid.
    const held: Held = {
      access: answer.accessToken,
      refresh: answer.refreshToken ?? previous?.refresh,
      scope: answer.scope ?? previous?.scope,
      expiresAt: lifetime === undefined ? undefined : now + lifetime * 1000,
      client: client ?? previous?.client,
      url: userMode(connector).url,
    };
    const doc: Sealed = { access: held.access, ...(held.refresh === undefined ? {} : { refresh: held.refresh }), url: held.url, ...(held.client === undefined ? {} : { client: held.client }) };
    const sealed = await this.#deps.vault.seal(connector.orgId, JSON.stringify(doc), upstreamTokenBinding(connector.orgId, userId, connector.id));
    await this.#deps.store.upstreamTokens.putUpstreamToken({
      orgId: connector.orgId,
      userId,
      connectorId: connector.id,
      sealed,
      scope: held.scope ?? null,
      expiresAt: held.expiresAt === undefined ? null : new Date(held.expiresAt).toISOString(),
      updatedAt: new Date(now).toISOString(),
    });
    this.#held.set(tokenKey(connector.orgId, userId, connector.id), held);
    return held;
  }

  async #client(connector: ConnectorRecord, oauth: ConnectorOAuth, st: ConnectorState, d: Discovered, fetcher: OAuthFetch, redirectUri: string): Promise<OAuthClient> {
    if (oauth.clientId !== '') {
      const secret = oauth.clientSecret;
      return {
        clientId: oauth.clientId,
        secret: secret === undefined ? undefined : () => this.#deps.openSecret(connector, secret.ciphertext),
        method: oauth.authMethod === 'client_secret_basic' || oauth.authMethod === 'client_secret_post' || oauth.authMethod === 'none' ? oauth.authMethod : pickMethod(d.server, secret !== undefined),
      };
    }
    const cimd = this.#deps.clientMetadataUrl;
    if (cimd !== undefined && d.server.clientIdMetadataDocuments) return { clientId: cimd, secret: undefined, method: 'none' };
    if (st.registered?.issuer === d.server.issuer) return st.registered.client;
    const client = await registerClient(fetcher, d.server, redirectUri);
    st.registered = { issuer: d.server.issuer, client };
    return client;
  }

  /** The authorization server and client for token requests after the connect (refresh, revocation). */
  async #server(connector: ConnectorRecord, stored?: SealedClient): Promise<{ fetcher: OAuthFetch; discovered: Discovered; client: OAuthClient }> {
    const { oauth, url, allowPrivateNetwork } = userMode(connector);
    const fetcher = egressFetcher(this.#deps.egress, { allowPrivateNetwork });
    const st = this.#state(connector);
    st.discovered ??= await discover(fetcher, this.#deps.egress.parse(url, { allowPrivateNetwork }), st.challenge ?? (await probe(fetcher, new URL(url))));
    // The client the tokens were issued to: a configured one as configured now, a registered one as it was sealed.
    const own = stored !== undefined && stored.id !== oauth.clientId && (stored.method === 'none' || stored.secret !== undefined) ? stored : undefined;
    const client: OAuthClient =
      own === undefined
        ? await this.#client(connector, oauth, st, st.discovered, fetcher, this.callbackUrl)
        : { clientId: own.id, method: own.method, secret: own.secret === undefined ? undefined : () => Promise.resolve(own.secret ?? '') };
    return { fetcher, discovered: st.discovered, client };
  }

  #state(connector: ConnectorRecord): ConnectorState {
    const key = `${connector.orgId}/${connector.id}`;
    const st = this.#states.get(key);
    if (st !== undefined && st.version === connector.updatedAt) return st;
    const next: ConnectorState = { version: connector.updatedAt, wanted: new Map() };
    this.#states.set(key, next);
    return next;
  }
}

/** An unauthenticated initialize: a protected upstream answers 401 with the challenge discovery starts from. */
async function probe(fetcher: OAuthFetch, url: URL): Promise<BearerChallenge | undefined> {
  const res = await fetcher(url.href, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'gatehouse', version: '0.1.0' } } }),
  });
  await res.body?.cancel().catch(() => undefined);
  return res.status === 401 || res.status === 403 ? parseBearerChallenge(res.headers.get('www-authenticate') ?? undefined) : undefined;
}
