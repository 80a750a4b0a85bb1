import { createHash, randomBytes } from 'node:crypto';
import { GatehouseError } from '../../../errors.ts';
import { postToken, type TokenAnswer, type TokenEndpointAuthMethod } from './client-credentials.ts';
import { authFailed, type AuthServer, type OAuthFetch } from './discovery.ts';

/**
 * The authorization-code side of upstream OAuth (RFC 6749 §4.1 with PKCE S256, RFC 7636) for connectors in `user`
 * mode: which client the gateway is at the upstream's authorization server (configured, a client ID metadata
 * document, or registered dynamically, RFC 7591), the authorization URL a person's browser is sent to, and the token
 * requests that exchange the code and refresh the tokens.
 */
export interface OAuthClient {
  readonly clientId: string;
  /** Opened or issued only for a token request; absent for a public client. */
  readonly secret: (() => Promise<string>) | undefined;
  readonly method: TokenEndpointAuthMethod;
}

/** RFC 7636: a 43-character verifier and its S256 challenge. */
export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** The first method the gateway can use that the server supports; RFC 8414's default is client_secret_basic. */
export function pickMethod(server: AuthServer, hasSecret: boolean): TokenEndpointAuthMethod {
  const order: TokenEndpointAuthMethod[] = hasSecret ? ['client_secret_basic', 'client_secret_post'] : ['none'];
  for (const m of order) if (server.authMethods.includes(m)) return m;
  if (!hasSecret) throw authFailed('The authorization server accepts no public client; configure a client id and secret');
  throw authFailed('The authorization server supports none of the gateway\'s client authentication methods');
}

/**
 * RFC 7591: registers the gateway as a client with the callback as its one redirect URI. The registration is held in
 * memory for new connects (a restart costs one more registration); each person's tokens are sealed with the client
 * they were issued to, issued secret included (user-tokens.ts), so refreshing and revoking them survive a restart.
 */
export async function registerClient(fetcher: OAuthFetch, server: AuthServer, redirectUri: string): Promise<OAuthClient> {
  const endpoint = server.registrationEndpoint;
  if (endpoint === undefined) throw authFailed('The authorization server offers no client registration; configure a client id');
  const wanted: TokenEndpointAuthMethod = server.authMethods.includes('none') ? 'none' : server.authMethods.includes('client_secret_basic') ? 'client_secret_basic' : 'client_secret_post';
  let res: Response;
  try {
    res = await fetcher(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({
        client_name: 'Gatehouse',
        redirect_uris: [redirectUri],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: wanted,
      }),
    });
  } catch (err) {
    if (err instanceof GatehouseError) throw err;
    throw authFailed('The authorization server\'s registration endpoint could not be reached', err);
  }
  const doc = (await res.json().catch(() => undefined)) as Record<string, unknown> | undefined;
  if (!res.ok || typeof doc?.client_id !== 'string' || doc.client_id === '') throw authFailed(`The authorization server refused to register the gateway (HTTP ${String(res.status)})`);
  const secret = typeof doc.client_secret === 'string' && doc.client_secret !== '' ? doc.client_secret : undefined;
  const given = doc.token_endpoint_auth_method;
  const method: TokenEndpointAuthMethod =
    given === 'none' || given === 'client_secret_basic' || given === 'client_secret_post' ? given : secret === undefined ? 'none' : wanted === 'none' ? 'none' : wanted;
  if (method !== 'none' && secret === undefined) throw authFailed('The authorization server registered a confidential client without a secret');
  return { clientId: doc.client_id, secret: secret === undefined ? undefined : () => Promise.resolve(secret), method };
}

export interface AuthorizationRequest {
  readonly server: AuthServer;
  readonly client: OAuthClient;
  readonly redirectUri: string;
  readonly state: string;
  readonly challenge: string;
  readonly resource: string;
  readonly scope: string | undefined;
}

export function authorizationUrl(r: AuthorizationRequest): string {
  const endpoint = r.server.authorizationEndpoint;
  if (endpoint === undefined) throw authFailed('The authorization server has no authorization endpoint');
  // The server must do S256 (or say nothing, as a 2025-03-26 server may): the gateway never sends `plain`.
  if (r.server.codeChallengeMethods.length > 0 && !r.server.codeChallengeMethods.includes('S256')) throw authFailed('The authorization server does not support PKCE S256');
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw authFailed('The authorization server\'s authorization endpoint is not a URL');
  }
  // Only ever opened by the person's browser, never fetched by the gateway: still, nothing but a web page.
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.username !== '' || url.password !== '') {
    throw authFailed('The authorization server\'s authorization endpoint is not an http(s) URL');
  }
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', r.client.clientId);
  url.searchParams.set('redirect_uri', r.redirectUri);
  url.searchParams.set('state', r.state);
  url.searchParams.set('code_challenge', r.challenge);
  url.searchParams.set('code_challenge_method', 'S256');
  url.searchParams.set('resource', r.resource);
  if (r.scope !== undefined) url.searchParams.set('scope', r.scope);
  // OpenID Connect Core §11: offline access is granted on a consent prompt (an OpenID provider drops the scope
  // otherwise, and no refresh token comes); a plain OAuth server ignores the parameter.
  if (r.scope?.split(' ').includes('offline_access') === true) url.searchParams.set('prompt', 'consent');
  return url.href;
}

/** A token request authenticated as `client` (RFC 6749 §2.3), with the resource indicator (RFC 8707). */
export async function tokenRequest(fetcher: OAuthFetch, server: AuthServer, client: OAuthClient, grant: Record<string, string>): Promise<TokenAnswer> {
  const body = new URLSearchParams(grant);
  const headers: Record<string, string> = { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' };
  if (client.method === 'client_secret_basic') {
    const secret = (await client.secret?.()) ?? '';
    headers.authorization = `Basic ${Buffer.from(`${formEncode(client.clientId)}:${formEncode(secret)}`).toString('base64')}`;
  } else {
    body.set('client_id', client.clientId);
    if (client.method === 'client_secret_post') body.set('client_secret', (await client.secret?.()) ?? '');
  }
  return postToken(fetcher, server.tokenEndpoint, headers, body);
}

/** RFC 7009: the token is revoked at the server when it offers revocation; a failure is the caller's to log. */
export async function revokeToken(fetcher: OAuthFetch, server: AuthServer, client: OAuthClient, token: string, hint: 'refresh_token' | 'access_token'): Promise<boolean> {
  const endpoint = server.revocationEndpoint;
  if (endpoint === undefined) return false;
  const body = new URLSearchParams({ token, token_type_hint: hint });
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (client.method === 'client_secret_basic') {
    headers.authorization = `Basic ${Buffer.from(`${formEncode(client.clientId)}:${formEncode((await client.secret?.()) ?? '')}`).toString('base64')}`;
  } else {
    body.set('client_id', client.clientId);
    if (client.method === 'client_secret_post') body.set('client_secret', (await client.secret?.()) ?? '');
  }
  const res = await fetcher(endpoint, { method: 'POST', headers, body });
  await res.body?.cancel();
  return res.ok;
}

function formEncode(s: string): string {
  return new URLSearchParams({ v: s }).toString().slice(2);
}
