import type { AuditRetentionStore } from './audit-retention-types.ts';
import type { GuardrailSettingsStore } from './guardrail-types.ts';
import type { KeyPolicyStore } from './key-policy-types.ts';
import type { UpstreamTokenStore } from './upstream-token-types.ts';
import type { TrafficSettingsStore } from './traffic-types.ts';
import type { ApprovalStore } from './approval-types.ts';
import type { SiemStore } from './siem-types.ts';
import type { IdempotencyStore } from './idempotency-types.ts';
import type { VaultStore } from './vault-types.ts';
import type { PinningStore } from './pinning-types.ts';
import type { PolicyStore } from './policy-types.ts';
import type { ScimStore } from './scim-types.ts';
import type { SignInStore } from './sign-in-types.ts';

/**
 * The storage contract. Two implementations: SQLite (embedded default) and PostgreSQL. Every method that touches
 * an organisation's data takes its id and scopes the query by it.
 */

export interface Organisation {
  readonly id: string;
  readonly slug: string;
  readonly name: string;
  readonly createdAt: string;
  /** Set when the organisation was deleted: its rows stay for the audit trail, but nothing in it works any more. */
  readonly deletedAt: string | null;
}

/** A role within one organisation, held by a member and carried by a key. */
export type KeyRole = 'owner' | 'admin' | 'member' | 'viewer';

/** A person. Users are global (one person may belong to several organisations); what they may do is per membership. */
export interface UserRecord {
  readonly id: string;
  /** Lower-cased; unique across the deployment. */
  readonly email: string;
  readonly createdAt: string;
}

/** A user's place in one organisation. */
export interface MembershipRecord {
  readonly orgId: string;
  readonly userId: string;
  readonly role: KeyRole;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** A membership with the user's email, as listings show it. */
export interface MemberRecord extends MembershipRecord {
  readonly email: string;
}

/** Which audit records of one chain to return: `afterSeq` (exclusive) and `limit` page; the rest filter. */
export interface AuditFilter {
  readonly afterSeq: number;
  readonly limit: number;
  /** Exact action, or a prefix when it ends with `*` (e.g. `key.*`). */
  readonly action?: string | undefined;
  readonly decision?: AuditDecision | undefined;
  readonly actorKeyId?: string | undefined;
  readonly actorUser?: string | undefined;
  /** ISO times, inclusive since and exclusive until. */
  readonly since?: string | undefined;
  readonly until?: string | undefined;
  readonly targetConnector?: string | undefined;
}

export interface ApiKeyRecord {
  readonly id: string;
  readonly orgId: string;
  /** The user the key acts for; null for a service key that belongs to the organisation alone. */
  readonly userId: string | null;
  readonly name: string;
  /** HMAC-SHA-256 of the whole key under the server's pepper, hex. The key itself is never stored. */
  readonly keyHash: string;
  /** The first characters of the key, safe to show so a person can tell keys apart. */
  readonly displayPrefix: string;
  readonly role: KeyRole;
  readonly scopes: readonly string[];
  /**
   * The virtual servers (by name) whose endpoints the key may use; never `/mcp`. null: unrestricted, `/mcp` and
   * every virtual server of its organisation.
   */
  readonly servers: readonly string[] | null;
  /** Networks (CIDR) the key may be used from, checked after authentication; null: anywhere the organisation allows. */
  readonly cidrs: readonly string[] | null;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly expiresAt: string | null;
  readonly revokedAt: string | null;
  /** Days between rotations (30, 60, 90 or 180); null: no schedule. Due at createdAt + that (a rotation makes a new key). */
  readonly rotationDays: RotationDays | null;
  /** The due date last written to the audit log as `key.rotation_due`: each due period is reported once. */
  readonly rotationDueReported: string | null;
  /** Set when the key was rotated with an overlap: it still works until then, and never after. */
  readonly retiresAt: string | null;
  /** The first owner key (and its replacements): '*' without an expiry even where the default policy wants one. */
  readonly policyExempt: boolean;
}

export const ROTATION_DAYS = [30, 60, 90, 180] as const;
export type RotationDays = (typeof ROTATION_DAYS)[number];

/** A header or environment value of a connector. Secret values are stored only as ciphertext. */
export type ConnectorValue =
  | { readonly name: string; readonly secret: false; readonly value: string }
  | { readonly name: string; readonly secret: true; readonly ciphertext: string };

/** A connector's own bounds on its calls (gateway/upstream/resilience.ts); what is unset takes the gateway default. */
export interface ConnectorLimits {
  readonly timeoutMs?: number;
  readonly maxCallMs?: number;
  readonly maxConcurrent?: number;
  readonly breakerFailures?: number;
  readonly breakerOpenMs?: number;
}

/** How the gateway gets OAuth access tokens for an HTTP connector; the client secret is sealed like a secret header. */
export interface ConnectorOAuth {
  /** client_credentials: one token for the connector; user: each person's own (gateway/upstream/oauth/user-tokens.ts). */
  readonly mode: 'client_credentials' | 'user';
  /** Empty in `user` mode when none is configured: a client ID metadata document or dynamic registration is used. */
  readonly clientId: string;
  readonly clientSecret?: { readonly ciphertext: string } | undefined;
  readonly scope?: string | undefined;
  /** private_key_jwt (RFC 7523): a PKCS#8 PEM key, sealed, and the JWS algorithm it signs with. */
  readonly privateKey?: { readonly ciphertext: string; readonly alg: string } | undefined;
  readonly authMethod?: 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt' | 'none' | undefined;
  /** The authorization server the client is registered with: the upstream's metadata must name this one. */
  readonly issuer?: string | undefined;
}

export type ConnectorTransport =
  | {
      readonly type: 'http';
      readonly url: string;
      readonly headers: readonly ConnectorValue[];
      /** Set only by the operator (CLI): this connector may reach non-public addresses (egress). */
      readonly allowPrivateNetwork?: boolean | undefined;
      readonly limits?: ConnectorLimits | undefined;
      /** The upstream wants OAuth access tokens (gateway/upstream/oauth). */
      readonly oauth?: ConnectorOAuth | undefined;
      /** The upstream is sent the call's W3C trace context (`traceparent`) when tracing is on: opt-in, per connector. */
      readonly propagateTraceContext?: boolean | undefined;
    }
  | {
      readonly type: 'stdio';
      readonly command: string;
      readonly args: readonly string[];
      readonly env: readonly ConnectorValue[];
      readonly cwd?: string | undefined;
      /** Forced by the operator (src/sandbox/stdio-policy.ts): a shell or eval flag may run; unsafe variables may be set. */
      readonly allowShell?: boolean | undefined;
      readonly allowUnsafeEnv?: boolean | undefined;
      /** The process needs the network: its sandbox keeps the host's network namespace. */
      readonly network?: boolean | undefined;
      readonly limits?: ConnectorLimits | undefined;
    };

export interface ConnectorRecord {
  readonly id: string;
  readonly orgId: string;
  readonly name: string;
  readonly transport: ConnectorTransport;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/**
 * A named subset of an organisation's catalog, served at `/servers/<name>/mcp`. Patterns use the key-scope syntax
 * (gateway/access/scopes.ts): `*`, `<connector>`, `<connector>/<name>` (a trailing `*` matches a prefix).
 */
export interface VirtualServerRecord {
  readonly id: string;
  readonly orgId: string;
  /** Same rule as connector names (CONNECTOR_NAME). */
  readonly name: string;
  readonly description: string;
  /** Tool patterns. */
  readonly tools: readonly string[];
  /** Prompt patterns, matched on prompt names. */
  readonly prompts: readonly string[];
  /** `<connector>` or `*`: the resources and resource templates of those connectors. */
  readonly resources: readonly string[];
  /** Expose upstream names and URIs without the connector prefix where they do not collide. */
  readonly unprefixed: boolean;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** The fields of a virtual server that can change; the name cannot (keys refer to servers by name). */
export type VirtualServerPatch = Partial<Pick<VirtualServerRecord, 'description' | 'tools' | 'prompts' | 'resources' | 'unprefixed'>>;

/**
 * An OAuth 2.1 authorization server whose access tokens (JWT) agents may present instead of an API key. An issuer
 * belongs to exactly one organisation: the token's `iss` names the organisation.
 */
export interface OAuthIssuerRecord {
  readonly id: string;
  readonly orgId: string;
  /** Compared exactly with the token's `iss`; unique across organisations. */
  readonly issuer: string;
  /** The resource (RFC 8707) the token's `aud` must contain; by default the gateway's canonical MCP endpoint URL. */
  readonly audience: string;
  /** The JWS algorithms accepted; never `none`, never HS*. */
  readonly algorithms: readonly string[];
  readonly jwksUri: string;
  /** A token `scope` value -> the Gatehouse key scopes it grants (`*`, `<connector>`, `<connector>/<tool>`). */
  readonly scopeMap: Readonly<Record<string, readonly string[]>>;
  /** Token scope values every token must carry to use the MCP endpoint (else 403 insufficient_scope). */
  readonly requiredScopes: readonly string[];
  /** The virtual servers its tokens may use (never `/mcp`); null: unrestricted. */
  readonly servers: readonly string[] | null;
  /** Accept only `typ: at+jwt` (RFC 9068); otherwise `JWT` and an absent typ are accepted too. */
  readonly requireAtJwt: boolean;
  readonly createdBy: string;
  readonly createdAt: string;
}

export interface OAuthIssuerStore {
  /** A taken issuer (in any organisation) or id is a DuplicateError. */
  insertOAuthIssuer(issuer: OAuthIssuerRecord): Promise<void>;
  /** Looks an issuer up by its exact `iss`, across organisations: the token names it. */
  findOAuthIssuer(issuer: string): Promise<OAuthIssuerRecord | undefined>;
  listOAuthIssuers(orgId: string): Promise<OAuthIssuerRecord[]>;
  /** Every organisation's issuers, for the protected resource metadata. */
  listAllOAuthIssuers(): Promise<OAuthIssuerRecord[]>;
  deleteOAuthIssuer(orgId: string, id: string): Promise<boolean>;
}

/** `mcp`: the MCP endpoints; `api`: the dashboard and admin API. */
export type NetworkPlane = 'mcp' | 'api';

/** The networks an organisation's plane may be reached from; no list means no restriction. */
export interface NetworkAllowlist {
  readonly orgId: string;
  readonly plane: NetworkPlane;
  readonly cidrs: readonly string[];
  readonly updatedAt: string;
}

export interface NetworkAllowlistStore {
  getNetworkAllowlist(orgId: string, plane: NetworkPlane): Promise<NetworkAllowlist | undefined>;
  /** Creates or replaces the plane's list. */
  setNetworkAllowlist(list: NetworkAllowlist): Promise<void>;
  deleteNetworkAllowlist(orgId: string, plane: NetworkPlane): Promise<boolean>;
  /** Every organisation's lists, for the data path's cache. */
  listAllNetworkAllowlists(): Promise<NetworkAllowlist[]>;
}

export type AuditDecision = 'allow' | 'deny' | 'error';

/** An audit event as the gateway describes it, before it is placed in the chain. */
export interface AuditEvent {
  readonly ts: string;
  readonly orgId: string;
  readonly actorKeyId: string | null;
  readonly actorUser: string | null;
  readonly clientIp: string | null;
  readonly action: string;
  readonly targetConnector: string | null;
  readonly targetName: string | null;
  readonly decision: AuditDecision;
  readonly reason: string | null;
  readonly latencyMs: number | null;
  readonly correlationId: string | null;
  /** JSON text of the arguments, secret-looking values already redacted. */
  readonly args: string | null;
  /**
   * JSON object text of what the stages decided beyond allow/deny: guardrail findings (rule and place, never the
   * matched value), the policy set's version and deciding policies, the limit that refused, an idempotent replay.
   * null when there is nothing to say (and then the hash is computed exactly as before the field existed).
   */
  readonly detail: string | null;
}

/**
 * An audit event in its chain (gateway/audit/chain.ts). Version 1 (`salt` null): `hash = SHA-256(prevHash, seq,
 * fields)`. Version 2: each field is committed by its own salted digest (salts derived from `salt`), so an export can
 * leave a field out and keep its digest; `hash = linkHash(prevHash, seq, content)` (audit-link.ts).
 */
export interface AuditRecord extends AuditEvent {
  readonly seq: number;
  readonly prevHash: string;
  readonly hash: string;
  /** The seed of a version-2 record's field salts (hex); null for a version-1 record. */
  readonly salt: string | null;
}

export interface AuditHead {
  readonly seq: number;
  readonly hash: string;
}

/**
 * Given the chain head (or undefined for an empty chain), returns the sealed record to append. `content` is the
 * record's position-independent commitment (version 2): a store that links records itself (PostgreSQL's
 * audit_append) needs it, and refuses a sealer without it.
 */
export interface AuditSealer {
  (head: AuditHead | undefined): AuditRecord;
  readonly content?: string;
  readonly draft?: Omit<AuditRecord, 'seq' | 'prevHash' | 'hash'>;
}

/** A signed chain head (gateway/audit/checkpoints.ts): whoever holds the public key can tell a truncated or rewritten chain. */
export interface AuditCheckpoint {
  readonly orgId: string;
  readonly seq: number;
  readonly hash: string;
  readonly ts: string;
  /** Which signing key signed it (audit-signing-key ids). */
  readonly keyId: string;
  /** Ed25519 signature (base64url) over checkpointPayload(). */
  readonly signature: string;
}

/** The deployment's audit signing key: its public half in the clear, its private half sealed by the vault. */
export interface AuditSigningKeyRecord {
  readonly id: string;
  /** SPKI PEM. */
  readonly publicKey: string;
  readonly sealedPrivateKey: string;
  readonly createdAt: string;
}

/** Checkpoints, signing keys and chain heads: what makes a chain verifiable beyond its own links. */
export interface AuditAnchorStore {
  /** Stores a checkpoint; one that already exists for that chain and seq is left as it is. */
  insertCheckpoint(cp: AuditCheckpoint): Promise<void>;
  /** A chain's checkpoints in seq order, from `afterSeq` (exclusive). */
  listCheckpoints(orgId: string, afterSeq?: number): Promise<AuditCheckpoint[]>;
  /** The chain's last record, or undefined for an empty chain. */
  head(orgId: string): Promise<AuditHead | undefined>;
  /** The signing key in use (the newest), if any. */
  currentSigningKey(): Promise<AuditSigningKeyRecord | undefined>;
  /** Every signing key, oldest first: checkpoints signed by an older key still verify. */
  listSigningKeys(): Promise<AuditSigningKeyRecord[]>;
  /** Throws DuplicateError when the id exists. */
  insertSigningKey(key: AuditSigningKeyRecord): Promise<void>;
}

export interface Store {
  readonly dialect: 'sqlite' | 'postgres';
  /** Passwords, second factors, browser sessions and sign-in settings (sign-in-types.ts). */
  readonly signIn: SignInStore;
  /** SCIM provisioning: tokens, role mappings, provisioned users and groups. */
  readonly scim: ScimStore;
  /** Trusted OAuth issuers whose access tokens agents may present (types.ts, OAuthIssuerStore). */
  readonly oauthIssuers: OAuthIssuerStore;
  /** Per-organisation IP allowlists for the MCP and admin API planes. */
  readonly networkAllowlists: NetworkAllowlistStore;
  readonly trafficSettings: TrafficSettingsStore;
  readonly guardrailSettings: GuardrailSettingsStore;
  /** Per-organisation key policies: longest lifetime, wildcard scopes (key-policy-types.ts). */
  readonly keyPolicies: KeyPolicyStore;
  /** Each person's own sealed tokens for upstreams that want OAuth per user (upstream-token-types.ts). */
  readonly upstreamTokens: UpstreamTokenStore;
  /** Idempotency keys of tools/call and the admin API's creating POSTs. */
  readonly idempotency: IdempotencyStore;
  /** The vault's KEK version and the organisations' wrapped data keys. */
  readonly vault: VaultStore;
  /** Tool pinning against rug pulls and read-only connectors (pinning-types.ts). */
  readonly pinning: PinningStore;
  /** Per-organisation Cedar policy sets, versioned (policy-types.ts). */
  readonly policies: PolicyStore;
  /** Human approval of tool calls (approval-types.ts). */
  readonly approvals: ApprovalStore;
  /** SIEM delivery: each sink's cursor per audit chain and its deliverer's lease (siem-types.ts). */
  readonly siem: SiemStore;
  /** Signed checkpoints of the audit chains and the key that signs them. */
  readonly auditAnchors: AuditAnchorStore;
  /** Per-organisation audit settings (retention, viewers' export) and the signed tombstones retention leaves. */
  readonly auditRetention: AuditRetentionStore;
  migrate(): Promise<void>;
  close(): Promise<void>;

  createOrganisation(org: Organisation): Promise<void>;
  /** Deleted organisations are returned too (with deletedAt set): callers decide what a deleted one means. */
  getOrganisation(id: string): Promise<Organisation | undefined>;
  getOrganisationBySlug(slug: string): Promise<Organisation | undefined>;
  listOrganisations(): Promise<Organisation[]>;
  /** Renames a live organisation; false when there is none. */
  renameOrganisation(id: string, name: string): Promise<boolean>;
  /**
   * Marks a live organisation deleted and, in the same transaction, revokes its keys, removes its connectors, virtual
   * servers and memberships. Its audit chain stays. False when there is no live organisation with that id.
   */
  deleteOrganisation(id: string, at: string): Promise<boolean>;

  insertUser(user: UserRecord): Promise<void>;
  getUser(id: string): Promise<UserRecord | undefined>;
  getUserByEmail(email: string): Promise<UserRecord | undefined>;

  insertMembership(m: MembershipRecord): Promise<void>;
  getMember(orgId: string, userId: string): Promise<MemberRecord | undefined>;
  listMembers(orgId: string): Promise<MemberRecord[]>;
  setMemberRole(orgId: string, userId: string, role: KeyRole, at: string): Promise<boolean>;
  /** Removes the membership and revokes the user's keys in that organisation, atomically. */
  deleteMembership(orgId: string, userId: string, at: string): Promise<boolean>;

  insertApiKey(key: ApiKeyRecord): Promise<void>;
  /** Looks a key up by its keyed hash, across organisations: the hash is what the caller presented. */
  findApiKeyByHash(keyHash: string): Promise<ApiKeyRecord | undefined>;
  getApiKey(orgId: string, id: string): Promise<ApiKeyRecord | undefined>;
  listApiKeys(orgId: string): Promise<ApiKeyRecord[]>;
  /** Sets revoked_at once; returns false when no such unrevoked key exists in the organisation. */
  revokeApiKey(orgId: string, id: string, at: string): Promise<boolean>;
  renameApiKey(orgId: string, id: string, name: string): Promise<boolean>;
  /** Revokes `oldId` and inserts `replacement` in one transaction; false (and nothing written) when `oldId` is revoked or retiring. */
  rotateApiKey(orgId: string, oldId: string, replacement: ApiKeyRecord, at: string): Promise<boolean>;
  /**
   * Like rotateApiKey, but the old key is not revoked: it works until `retiresAt`. False (nothing written) when
   * `oldId` is revoked or already retiring.
   */
  rotateApiKeyWithOverlap(orgId: string, oldId: string, replacement: ApiKeyRecord, retiresAt: string): Promise<boolean>;
  /** Sets or clears the rotation schedule of a live key; false when no such key, or it is revoked or retiring. */
  setApiKeyRotation(orgId: string, id: string, days: RotationDays | null): Promise<boolean>;
  /** Every organisation's live keys (not revoked, not retiring) that have a rotation schedule: the due-rotation sweep. */
  listScheduledApiKeys(): Promise<ApiKeyRecord[]>;
  /**
   * Records that the key's rotation due at `dueAt` was reported; false when that date (or a later one) already was, by
   * any process sharing the database: of any number of claims of one due date exactly one is true.
   */
  claimRotationDueReport(orgId: string, id: string, dueAt: string): Promise<boolean>;

  insertConnector(connector: ConnectorRecord): Promise<void>;
  getConnector(orgId: string, id: string): Promise<ConnectorRecord | undefined>;
  getConnectorByName(orgId: string, name: string): Promise<ConnectorRecord | undefined>;
  /** Replaces name, transport and updatedAt of an existing connector of the organisation. */
  updateConnector(connector: ConnectorRecord): Promise<boolean>;
  listConnectors(orgId: string): Promise<ConnectorRecord[]>;
  /** Every organisation's connectors, for the gateway's connection pool. */
  listAllConnectors(): Promise<ConnectorRecord[]>;
  deleteConnector(orgId: string, id: string): Promise<boolean>;
  /** A number that changes whenever any connector is added, changed or removed. */
  connectorsRevision(): Promise<number>;

  createVirtualServer(server: VirtualServerRecord): Promise<void>;
  /** Applies the patch and sets updatedAt to now; undefined when the organisation has no such server. */
  updateVirtualServer(orgId: string, id: string, patch: VirtualServerPatch): Promise<VirtualServerRecord | undefined>;
  getVirtualServer(orgId: string, name: string): Promise<VirtualServerRecord | undefined>;
  listVirtualServers(orgId: string): Promise<VirtualServerRecord[]>;
  /** Every organisation's virtual servers, for the gateway. */
  listAllVirtualServers(): Promise<VirtualServerRecord[]>;
  deleteVirtualServer(orgId: string, id: string): Promise<boolean>;
  /** A number that changes whenever any virtual server is created, changed or deleted. */
  virtualServersRevision(): Promise<number>;
  /**
   * Moves whenever an API key, a membership or a network allowlist is created, changed or removed, by any process or
   * replica: what the data path decides access on is cached in memory and reloaded when it moves.
   */
  accessRevision(): Promise<number>;

  /** Appends one record to the organisation's chain atomically, even with other writers (CLI, replicas). */
  appendAudit(orgId: string, seal: AuditSealer): Promise<AuditRecord>;
  /** Records of one chain in seq order, from `afterSeq` (exclusive), at most `limit`. */
  listAudit(orgId: string, afterSeq: number, limit: number): Promise<AuditRecord[]>;
  /** Records of one chain that match a filter, in seq order. */
  searchAudit(orgId: string, filter: AuditFilter): Promise<AuditRecord[]>;
  getAuditByHash(orgId: string, hash: string): Promise<AuditRecord | undefined>;
  /** The organisations (and the system chain) that have audit records. */
  listAuditChains(): Promise<string[]>;
}

/** Raised by a store for a unique-constraint violation, so services can answer "already exists". */
export class DuplicateError extends Error {
  override readonly name = 'DuplicateError';
}
