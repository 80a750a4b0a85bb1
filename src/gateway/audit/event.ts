import type { AuditDecision, AuditEvent } from '../../store/types.ts';

/**
 * THE audit event builder: the data path, the admin API, the CLI, SCIM and sign-in all build their records here, so
 * every record has one shape (the schema SIEM consumers read, README "Audit records"):
 *
 *   ts               ISO 8601 time the record was built (UTC)
 *   orgId            the organisation's chain; `_system` for refusals with no organisation (unknown or missing key)
 *   actorKeyId       the API key (or `oauth:<issuer>:<client>` for an access token) that acted; null for people and the operator
 *   actorUser        the user id (or token subject, or `cli:<os user>` / `system:<what>` for the operator) that acted
 *   clientIp         the client's address as the gateway believes it (trusted proxies applied); null when not over HTTP
 *   action           what was attempted: `mcp.<method>` on the data path, `mcp.client.<method>` for an upstream's
 *                    request to a client, `auth.*` for authentication, `<noun>.<verb>` on the control plane
 *   targetConnector  the connector a data-path request resolved to
 *   targetName       the tool or prompt (its upstream name), resource URI, or the control-plane object
 *   decision         allow | deny (a rule or a check refused) | error (a fault: upstream, store, timeout, cancellation)
 *   reason           why, for deny and error: an error code, `code:detail` (e.g. `invalid_params:scope`), or `tool_error`
 *   latencyMs        time spent in the gateway for data-path requests; null elsewhere
 *   correlationId    the id in the response's x-correlation-id header and in the log line
 *   args             JSON text of the arguments or of what changed, secrets redacted; null when there are none
 *   detail           JSON object text of what the stages found and decided beyond the decision (guardrail findings
 *                    by rule and place, never the value; policy version and deciding policy ids; the limit that
 *                    refused; an idempotent replay); null when there is none
 *
 * Every string is made well-formed and bounded here, before it is hashed: a lone UTF-16 surrogate would be stored as
 * U+FFFD by the database and the stored record would no longer match its hash; NUL cannot be stored in PostgreSQL text.
 * So whatever a client sends, the record written is the record hashed, and the chain verifies.
 */
export interface AuditFacts {
  readonly orgId: string;
  readonly actor?: { readonly keyId: string | null; readonly user: string | null };
  readonly clientIp?: string | null;
  readonly action: string;
  readonly connector?: string | null;
  readonly target?: string | null;
  readonly decision: AuditDecision;
  readonly reason?: string | null;
  readonly latencyMs?: number | null;
  readonly correlationId?: string | null;
  /** JSON text, already redacted and bounded (see redact.ts `auditArgs`), or anything to serialise as is. */
  readonly args?: string | null;
  /** What the stages found and decided (see `detail` above); serialised here, bounded. */
  readonly detail?: Readonly<Record<string, unknown>> | null;
}

const LIMITS = { orgId: 64, actor: 256, clientIp: 64, action: 128, connector: 128, target: 512, reason: 256, correlationId: 128 } as const;
/** Bounded by auditArgs already; this only stops a caller that skipped it from writing megabytes. */
const MAX_ARGS = 64 * 1024;
/** Findings are names and places, never values: a few kilobytes at most unless something produced thousands. */
const MAX_DETAIL = 16 * 1024;

export function auditEvent(f: AuditFacts): AuditEvent {
  return {
    ts: new Date().toISOString(),
    orgId: text(f.orgId, LIMITS.orgId),
    actorKeyId: textOrNull(f.actor?.keyId, LIMITS.actor),
    actorUser: textOrNull(f.actor?.user, LIMITS.actor),
    clientIp: textOrNull(f.clientIp, LIMITS.clientIp),
    action: text(f.action, LIMITS.action),
    targetConnector: textOrNull(f.connector, LIMITS.connector),
    targetName: textOrNull(f.target, LIMITS.target),
    decision: f.decision,
    reason: textOrNull(f.reason, LIMITS.reason),
    latencyMs: f.latencyMs === undefined || f.latencyMs === null ? null : Math.round(f.latencyMs * 1000) / 1000,
    correlationId: textOrNull(f.correlationId, LIMITS.correlationId),
    args: textOrNull(f.args, MAX_ARGS),
    detail: detailText(f.detail),
  };
}

/** Arguments or a change description as record text (for the control plane, whose values are the gateway's own). */
export function auditJson(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value);
}

function detailText(detail: Readonly<Record<string, unknown>> | null | undefined): string | null {
  if (detail === undefined || detail === null || Object.keys(detail).length === 0) return null;
  const json = JSON.stringify(detail);
  // Cut JSON is no longer JSON: an oversized detail is replaced by a note saying so rather than clipped.
  return text(json.length > MAX_DETAIL ? JSON.stringify({ truncated: true, bytes: json.length }) : json, MAX_DETAIL);
}

function textOrNull(s: string | null | undefined, max: number): string | null {
  return s === undefined || s === null ? null : text(s, max);
}

/** Clipped first (a clip can split a surrogate pair), then made well-formed; NUL becomes U+FFFD like a lone surrogate. */
function text(s: string, max: number): string {
  const clipped = s.length > max ? s.slice(0, max) : s;
  const formed = clipped.isWellFormed() ? clipped : clipped.toWellFormed();
  return formed.includes('\0') ? formed.replaceAll('\0', '\uFFFD') : formed;
}
