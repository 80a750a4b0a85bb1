import type { Row } from './rows.ts';

/**
 * Human approval of tool calls. A call of a tool the organisation marked as needing approval, from a client that
 * cannot be asked (no elicitation), leaves a pending row bound to a digest of the exact call (organisation, key,
 * connector, tool, arguments); an admin approves or denies it; the client's retry of the same call consumes an
 * approval once. A row past `expiresAt` counts as expired, whatever its status says.
 */
export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'used';

export interface ApprovalRecord {
  readonly id: string;
  readonly orgId: string;
  readonly keyId: string;
  readonly connector: string;
  readonly tool: string;
  /** SHA-256 (hex) of the call it approves: the same key, tool and arguments, byte for byte after canonical JSON. */
  readonly digest: string;
  /** The arguments as the audit log keeps them (secrets redacted, clipped), for the reviewer. */
  readonly argsPreview: string;
  readonly status: ApprovalStatus;
  readonly requestedAt: string;
  readonly expiresAt: string;
  readonly decidedBy: string | null;
  readonly decidedAt: string | null;
}

export interface ApprovalStore {
  /** The live pending or approved row for a digest (the newest), if any. */
  findApproval(orgId: string, digest: string, now: string): Promise<ApprovalRecord | undefined>;
  createApproval(a: ApprovalRecord): Promise<void>;
  getApproval(orgId: string, id: string): Promise<ApprovalRecord | undefined>;
  /** Pending rows that have not expired by `now`, oldest first. */
  listPendingApprovals(orgId: string, now: string): Promise<ApprovalRecord[]>;
  /** pending -> approved or denied, unless expired by `now`; false when the row was not pending (or expired). */
  decideApproval(orgId: string, id: string, decision: 'approved' | 'denied', by: string, now: string): Promise<boolean>;
  /** approved -> used, once: true for the one caller that consumed it. */
  consumeApproval(orgId: string, id: string, now: string): Promise<boolean>;
}

const time = (v: unknown): string => (v instanceof Date ? v.toISOString() : String(v));

export function toApproval(r: Row): ApprovalRecord {
  return {
    id: String(r.id),
    orgId: String(r.org_id),
    keyId: String(r.key_id),
    connector: String(r.connector),
    tool: String(r.tool),
    digest: String(r.digest),
    argsPreview: String(r.args_preview),
    status: String(r.status) as ApprovalStatus,
    requestedAt: time(r.requested_at),
    expiresAt: time(r.expires_at),
    decidedBy: typeof r.decided_by === 'string' ? r.decided_by : null,
    decidedAt: r.decided_at === null || r.decided_at === undefined ? null : time(r.decided_at),
  };
}

export const APPROVAL_COLUMNS = 'id, org_id, key_id, connector, tool, digest, args_preview, status, requested_at, expires_at, decided_by, decided_at';
