import { createHash } from 'node:crypto';
import { GatehouseError } from '../../../errors.ts';
import type { ConnectorOAuth, ConnectorRecord } from '../../../store/types.ts';
import type { OAuthClient } from './authorization-code.ts';
import type { BearerChallenge } from './challenge.ts';
import type { Discovered } from './discovery.ts';

/**
 * What per-user OAuth keeps (user-tokens.ts): a person's tokens in memory and sealed in the store, a connect in
 * progress, what the gateway learned about a connector's authorization server, and the bindings each is sealed under.
 */

export interface Held {
  readonly access: string;
  readonly refresh: string | undefined;
  readonly scope: string | undefined;
  /** ms since the epoch; undefined when the server did not say. */
  readonly expiresAt: number | undefined;
  /** The client the tokens were issued to (a registered one survives a restart with them); absent in older rows. */
  readonly client: SealedClient | undefined;
  /** The connector URL the tokens were obtained for: never sent anywhere else. */
  readonly url: string;
}

/**
 * What is sealed for a person and connector: their tokens, the connector URL they were obtained for (tokens are
 * never sent to another URL the connector is changed to), and the client they were issued to. A client registered
 * dynamically keeps its issued secret here, sealed with the tokens it goes with; a configured one is named only.
 */
export interface Sealed {
  readonly access: string;
  readonly refresh?: string;
  readonly url?: string;
  readonly client?: SealedClient;
}

export interface SealedClient {
  readonly id: string;
  readonly method: OAuthClient['method'];
  readonly secret?: string;
}

/**
 * A connect in progress, sealed in the store (upstream_connects) between the redirect and the callback, so that any
 * replica can finish it: the PKCE verifier, the client (a registered one with its issued secret), what discovery
 * found, and the SHA-256 of the value the starting browser holds in a cookie. Found by the SHA-256 of its state.
 */
export interface Pending {
  readonly keyId: string | null;
  readonly verifier: string;
  readonly redirectUri: string;
  readonly discovered: Discovered;
  readonly client: SealedClient;
  /** The connector's version at the start: a connector changed in between is not finished with stale settings. */
  readonly version: string;
  readonly browser: string;
}

/** What the gateway learned about a connector's authorization server, for its current version. */
export interface ConnectorState {
  readonly version: string;
  challenge?: BearerChallenge | undefined;
  discovered?: Discovered | undefined;
  registered?: { issuer: string; client: OAuthClient } | undefined;
  /** Scopes the upstream asked a user for (403 insufficient_scope), added at their next connect. */
  readonly wanted: Map<string, string>;
}

export function connectRoute(connector: Pick<ConnectorRecord, 'id'>): string {
  return `/api/v1/connectors/${connector.id}/oauth/connect`;
}

/** Where a person's tokens are sealed: they open only for this organisation, user and connector. */
export function upstreamTokenBinding(orgId: string, userId: string, connectorId: string): string {
  return `upstream-token/${orgId}/${userId}/${connectorId}`;
}

/** Where a connect in progress is sealed: it opens only for the organisation, user and connector it was started for. */
export function connectBinding(orgId: string, userId: string, connectorId: string): string {
  return `upstream-connect/${orgId}/${userId}/${connectorId}`;
}

export function userMode(connector: ConnectorRecord): { oauth: ConnectorOAuth; url: string; allowPrivateNetwork: boolean | undefined } {
  const t = connector.transport;
  if (t.type !== 'http' || t.oauth?.mode !== 'user') throw new GatehouseError('bad_request', `Connector '${connector.name}' does not use OAuth per user`);
  return { oauth: t.oauth, url: t.url, allowPrivateNetwork: t.allowPrivateNetwork };
}

/** The client to seal with a person's tokens: a configured one by name only (its secret stays in the connector). */
export async function sealedClient(connector: ConnectorRecord, client: OAuthClient): Promise<SealedClient> {
  if (client.clientId === userMode(connector).oauth.clientId) return { id: client.clientId, method: client.method };
  const secret = await client.secret?.();
  return { id: client.clientId, method: client.method, ...(secret === undefined ? {} : { secret }) };
}

export function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

export function tokenKey(orgId: string, userId: string, connectorId: string): string {
  return `${orgId}/${userId}/${connectorId}`;
}
