import type {
  ApiKeyRecord, AuditCheckpoint, AuditFilter, AuditRecord, AuditSigningKeyRecord, ConnectorRecord, ConnectorTransport, KeyRole, MemberRecord, NetworkAllowlist, NetworkPlane,
  OAuthIssuerRecord, Organisation, RotationDays, UserRecord, VirtualServerRecord,
} from './types.ts';

/** Row <-> record mapping shared by both dialects; column names are the same in SQLite and PostgreSQL. */
export type Row = Record<string, unknown>;

const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'bigint' ? String(v) : JSON.stringify(v));
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : str(v));
const time = (v: unknown): string => (v instanceof Date ? v.toISOString() : str(v));
const timeOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : time(v));
const strings = (v: unknown): string[] => JSON.parse(str(v)) as string[];
/** SQLite stores booleans as 0/1, PostgreSQL as BOOLEAN. */
const bool = (v: unknown): boolean => v === true || v === 1 || v === 1n;

export function toOrganisation(r: Row): Organisation {
  return { id: str(r.id), slug: str(r.slug), name: str(r.name), createdAt: time(r.created_at), deletedAt: timeOrNull(r.deleted_at) };
}

export function toUser(r: Row): UserRecord {
  return { id: str(r.id), email: str(r.email), createdAt: time(r.created_at) };
}

export function toMember(r: Row): MemberRecord {
  return {
    orgId: str(r.org_id),
    userId: str(r.user_id),
    email: str(r.email),
    role: str(r.role) as KeyRole,
    createdAt: time(r.created_at),
    updatedAt: time(r.updated_at),
  };
}

/** Members with their email: the one query both dialects run, with the dialect's placeholders. */
export function memberQuery(where: string): string {
  return `SELECT m.org_id, m.user_id, m.role, m.created_at, m.updated_at, u.email
    FROM memberships m JOIN users u ON u.id = m.user_id WHERE ${where}`;
}

export function toApiKey(r: Row): ApiKeyRecord {
  return {
    id: str(r.id),
    orgId: str(r.org_id),
    userId: strOrNull(r.user_id),
    name: str(r.name),
    keyHash: str(r.key_hash),
    displayPrefix: str(r.display_prefix),
    role: str(r.role) as KeyRole,
    scopes: strings(r.scopes),
    servers: r.servers === null || r.servers === undefined ? null : strings(r.servers),
    cidrs: r.cidrs === null || r.cidrs === undefined ? null : strings(r.cidrs),
    createdBy: str(r.created_by),
    createdAt: time(r.created_at),
    expiresAt: timeOrNull(r.expires_at),
    revokedAt: timeOrNull(r.revoked_at),
    rotationDays: r.rotation_days === null || r.rotation_days === undefined ? null : (Number(r.rotation_days) as RotationDays),
    rotationDueReported: timeOrNull(r.rotation_due_reported),
    retiresAt: timeOrNull(r.retires_at),
    policyExempt: bool(r.policy_exempt),
  };
}

export function toConnector(r: Row): ConnectorRecord {
  return {
    id: str(r.id),
    orgId: str(r.org_id),
    name: str(r.name),
    transport: JSON.parse(str(r.transport)) as ConnectorTransport,
    createdAt: time(r.created_at),
    updatedAt: time(r.updated_at),
  };
}

export function toVirtualServer(r: Row): VirtualServerRecord {
  return {
    id: str(r.id),
    orgId: str(r.org_id),
    name: str(r.name),
    description: str(r.description),
    tools: strings(r.tools),
    prompts: strings(r.prompts),
    resources: strings(r.resources),
    unprefixed: bool(r.unprefixed),
    createdAt: time(r.created_at),
    updatedAt: time(r.updated_at),
  };
}

export function toOAuthIssuer(r: Row): OAuthIssuerRecord {
  return {
    id: str(r.id),
    orgId: str(r.org_id),
    issuer: str(r.issuer),
    audience: str(r.audience),
    algorithms: strings(r.algorithms),
    jwksUri: str(r.jwks_uri),
    scopeMap: JSON.parse(str(r.scope_map)) as Record<string, string[]>,
    requiredScopes: strings(r.required_scopes),
    servers: r.servers === null || r.servers === undefined ? null : strings(r.servers),
    requireAtJwt: bool(r.require_at_jwt),
    createdBy: str(r.created_by),
    createdAt: time(r.created_at),
  };
}

export function toNetworkAllowlist(r: Row): NetworkAllowlist {
  return { orgId: str(r.org_id), plane: str(r.plane) as NetworkPlane, cidrs: strings(r.cidrs), updatedAt: time(r.updated_at) };
}

/** A JSON column value, or NULL for an absent one (never the JSON text `null`). */
export function jsonOrNull(v: unknown): string | null {
  return v === null || v === undefined ? null : JSON.stringify(v);
}

export function toAuditRecord(r: Row): AuditRecord {
  return {
    orgId: str(r.org_id),
    seq: Number(r.seq),
    ts: time(r.ts),
    actorKeyId: strOrNull(r.actor_key_id),
    actorUser: strOrNull(r.actor_user),
    clientIp: strOrNull(r.client_ip),
    action: str(r.action),
    targetConnector: strOrNull(r.target_connector),
    targetName: strOrNull(r.target_name),
    decision: str(r.decision) as AuditRecord['decision'],
    reason: strOrNull(r.reason),
    latencyMs: r.latency_ms === null || r.latency_ms === undefined ? null : Number(r.latency_ms),
    correlationId: strOrNull(r.correlation_id),
    args: strOrNull(r.args),
    detail: strOrNull(r.detail),
    prevHash: str(r.prev_hash),
    hash: str(r.hash),
    salt: strOrNull(r.salt),
  };
}

/** Audit columns in insert order, with the value of each for a record. */
export const AUDIT_COLUMNS = [
  'org_id', 'seq', 'ts', 'actor_key_id', 'actor_user', 'client_ip', 'action', 'target_connector', 'target_name',
  'decision', 'reason', 'latency_ms', 'correlation_id', 'args', 'detail', 'prev_hash', 'hash', 'salt',
] as const;

export function auditValues(r: AuditRecord): (string | number | null)[] {
  return [
    r.orgId, r.seq, r.ts, r.actorKeyId, r.actorUser, r.clientIp, r.action, r.targetConnector, r.targetName,
    r.decision, r.reason, r.latencyMs, r.correlationId, r.args, r.detail, r.prevHash, r.hash, r.salt,
  ];
}

/** The WHERE clause and values of an audit search, with the dialect's placeholders (`$n` or `?`). */
export function auditWhere(orgId: string, f: AuditFilter, placeholder: (n: number) => string): { where: string; values: unknown[] } {
  const values: unknown[] = [];
  const p = (v: unknown) => {
    values.push(v);
    return placeholder(values.length);
  };
  const clauses = [`org_id = ${p(orgId)}`, `seq > ${p(f.afterSeq)}`];
  if (f.action !== undefined) {
    // substr rather than LIKE: SQLite's LIKE ignores case and both need escaping; this compares exactly in both.
    const prefix = f.action.endsWith('*') ? f.action.slice(0, -1) : undefined;
    clauses.push(prefix === undefined ? `action = ${p(f.action)}` : `substr(action, 1, ${p(prefix.length)}) = ${p(prefix)}`);
  }
  if (f.decision !== undefined) clauses.push(`decision = ${p(f.decision)}`);
  if (f.actorKeyId !== undefined) clauses.push(`actor_key_id = ${p(f.actorKeyId)}`);
  if (f.actorUser !== undefined) clauses.push(`actor_user = ${p(f.actorUser)}`);
  if (f.targetConnector !== undefined) clauses.push(`target_connector = ${p(f.targetConnector)}`);
  if (f.since !== undefined) clauses.push(`ts >= ${p(f.since)}`);
  if (f.until !== undefined) clauses.push(`ts < ${p(f.until)}`);
  return { where: clauses.join(' AND '), values };
}

export function toAuditCheckpoint(r: Row): AuditCheckpoint {
  return { orgId: str(r.org_id), seq: Number(r.seq), hash: str(r.hash), ts: time(r.ts), keyId: str(r.key_id), signature: str(r.signature) };
}

export function toAuditSigningKey(r: Row): AuditSigningKeyRecord {
  return { id: str(r.id), publicKey: str(r.public_key), sealedPrivateKey: str(r.sealed_private_key), createdAt: time(r.created_at) };
}
