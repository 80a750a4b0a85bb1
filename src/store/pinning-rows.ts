import type { PinSettings, PinStatus, ToolClass, ToolPinRecord } from './pinning-types.ts';
import type { Row } from './rows.ts';

/** Row -> record mapping of the pinning tables, shared by both dialects. */
const str = (v: unknown): string => (typeof v === 'string' ? v : String(v));
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : str(v));
const time = (v: unknown): string => (v instanceof Date ? v.toISOString() : str(v));
const bool = (v: unknown): boolean => v === true || v === 1 || v === 1n;

export function toToolPin(r: Row): ToolPinRecord {
  return {
    orgId: str(r.org_id),
    connectorId: str(r.connector_id),
    tool: str(r.tool),
    status: str(r.status) as PinStatus,
    approvedFingerprint: strOrNull(r.approved_fingerprint),
    approvedDefinition: strOrNull(r.approved_definition),
    pendingFingerprint: strOrNull(r.pending_fingerprint),
    pendingDefinition: strOrNull(r.pending_definition),
    findings: strOrNull(r.findings),
    classification: strOrNull(r.classification) as ToolClass | null,
    reviewedBy: strOrNull(r.reviewed_by),
    updatedAt: time(r.updated_at),
  };
}

export function toolPinValues(p: ToolPinRecord): (string | null)[] {
  return [
    p.orgId, p.connectorId, p.tool, p.status, p.approvedFingerprint, p.approvedDefinition, p.pendingFingerprint, p.pendingDefinition, p.findings,
    p.classification, p.reviewedBy, p.updatedAt,
  ];
}

export const TOOL_PIN_COLUMNS =
  'org_id, connector_id, tool, status, approved_fingerprint, approved_definition, pending_fingerprint, pending_definition, findings, classification, reviewed_by, updated_at';
export const TOOL_PIN_UPDATE = `status = excluded.status, approved_fingerprint = excluded.approved_fingerprint,
  approved_definition = excluded.approved_definition, pending_fingerprint = excluded.pending_fingerprint,
  pending_definition = excluded.pending_definition, findings = excluded.findings, classification = excluded.classification,
  reviewed_by = excluded.reviewed_by, updated_at = excluded.updated_at`;

export function toPinSettings(r: Row): PinSettings {
  return {
    orgId: str(r.org_id),
    connectorId: str(r.connector_id),
    readOnly: bool(r.read_only),
    autoApproveFirstSync: r.auto_approve === null || r.auto_approve === undefined ? null : bool(r.auto_approve),
    updatedAt: time(r.updated_at),
  };
}
