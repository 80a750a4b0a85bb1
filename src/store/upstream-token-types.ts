/**
 * A person's own tokens for an upstream that wants OAuth per user (gateway/upstream/oauth/user-tokens.ts): one row
 * per organisation, user and connector. The access and refresh tokens are sealed together by the vault under the
 * organisation's data key, bound to exactly this (org, user, connector); the row never holds them in the clear.
 */
export interface UpstreamTokenRecord {
  readonly orgId: string;
  readonly userId: string;
  readonly connectorId: string;
  /** vault.seal of the JSON `{ access, refresh? }`, bound by upstreamTokenBinding(). */
  readonly sealed: string;
  /** The scope the authorization server granted (or was asked for), space-separated. */
  readonly scope: string | null;
  /** When the access token expires (ISO); null when the server did not say. */
  readonly expiresAt: string | null;
  readonly updatedAt: string;
}

export interface UpstreamTokenStore extends UpstreamConnectStore {
  getUpstreamToken(orgId: string, userId: string, connectorId: string): Promise<UpstreamTokenRecord | undefined>;
  /** Inserts or replaces the user's tokens for the connector. */
  putUpstreamToken(r: UpstreamTokenRecord): Promise<void>;
  /** True when there was a row. */
  deleteUpstreamToken(orgId: string, userId: string, connectorId: string): Promise<boolean>;
  /** Every connector a user holds tokens for (to revoke them when the user is deactivated). */
  listUpstreamTokensOfUser(orgId: string, userId: string): Promise<UpstreamTokenRecord[]>;
  /** The most recently stored tokens for a connector, whoever holds them (the connector's listing is read with them). */
  latestUpstreamToken(orgId: string, connectorId: string): Promise<UpstreamTokenRecord | undefined>;
}

/**
 * A connect in progress (OAuth per user): found by the SHA-256 of its `state` (the state itself is never stored),
 * sealed (the PKCE verifier, the client, the discovered server) for (org, user, connector), and used once.
 */
export interface UpstreamConnectRecord {
  readonly stateHash: string;
  readonly orgId: string;
  readonly userId: string;
  readonly connectorId: string;
  readonly sealed: string;
  readonly expiresAt: string;
}

export interface UpstreamConnectStore {
  putUpstreamConnect(r: UpstreamConnectRecord): Promise<void>;
  /** The connect with this state hash, deleted in the same step (only one caller ever gets it); expired ones too. */
  takeUpstreamConnect(stateHash: string, now: string): Promise<UpstreamConnectRecord | undefined>;
}

export function toUpstreamToken(r: Record<string, unknown>): UpstreamTokenRecord {
  const text = (v: unknown): string => (typeof v === 'string' ? v : v instanceof Date ? v.toISOString() : JSON.stringify(v));
  const textOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : text(v));
  return {
    orgId: text(r.org_id),
    userId: text(r.user_id),
    connectorId: text(r.connector_id),
    sealed: text(r.sealed),
    scope: textOrNull(r.scope),
    expiresAt: textOrNull(r.expires_at),
    updatedAt: text(r.updated_at),
  };
}

export function toUpstreamConnect(r: Record<string, unknown>): UpstreamConnectRecord {
  const text = (v: unknown): string => (typeof v === 'string' ? v : v instanceof Date ? v.toISOString() : JSON.stringify(v));
  return { stateHash: text(r.state_hash), orgId: text(r.org_id), userId: text(r.user_id), connectorId: text(r.connector_id), sealed: text(r.sealed), expiresAt: text(r.expires_at) };
}
