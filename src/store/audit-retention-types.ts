/**
 * Per-organisation audit settings (how long records are kept; whether viewers may export in bulk) and the tombstones
 * retention leaves. A tombstone is signed like a checkpoint: it says which records were removed (`firstSeq` to
 * `lastSeq`, `count` of them), the hash of the last one (the head at the cut, where the chain now starts), when and
 * by whom. Verification starts from the newest tombstone; records not covered by one are still required.
 */
export interface AuditSettings {
  readonly orgId: string;
  /** Records older than this many days are removed, whole checkpointed segments at a time; null: kept for ever. */
  readonly retentionDays: number | null;
  /** Viewers may export the log in bulk (owners and admins always may). */
  readonly viewerExport: boolean;
  readonly updatedAt: string;
}

export interface AuditTombstone {
  readonly orgId: string;
  readonly firstSeq: number;
  readonly lastSeq: number;
  /** The hash of record `lastSeq`: the next record's prevHash, and the hash of the signed checkpoint at `lastSeq`. */
  readonly headHash: string;
  readonly count: number;
  readonly ts: string;
  /** Who pruned (`system:retention`, `cli:alice`, a user id). */
  readonly actor: string;
  readonly keyId: string;
  /** Ed25519 signature (base64url) over tombstonePayload() (gateway/audit/signing.ts). */
  readonly signature: string;
}

export interface AuditRetentionStore {
  getAuditSettings(orgId: string): Promise<AuditSettings | undefined>;
  /** Inserts or replaces the organisation's settings. */
  setAuditSettings(s: AuditSettings): Promise<void>;
  /** Every organisation with a retention limit: what the periodic job prunes. */
  listRetentionSettings(): Promise<AuditSettings[]>;
  /** A chain's tombstones in seq order. */
  listTombstones(orgId: string): Promise<AuditTombstone[]>;
  /** The lowest seq of a record written at or after `ts` (undefined when every record is older). */
  firstSeqSince(orgId: string, ts: string): Promise<number | undefined>;
  /**
   * Stores the tombstone and removes the records it covers, atomically. The database itself refuses unless the
   * tombstone continues the previous one, a checkpoint at `lastSeq` names `headHash`, at least one record stays
   * after it, `count` records are removed, and none is younger than the organisation's retention allows.
   * Returns the number of records removed.
   */
  prune(t: AuditTombstone): Promise<number>;
}

export function toAuditSettings(r: Record<string, unknown>): AuditSettings {
  const at = r.updated_at;
  return {
    orgId: String(r.org_id),
    retentionDays: r.retention_days === null || r.retention_days === undefined ? null : Number(r.retention_days),
    viewerExport: r.viewer_export === true || Number(r.viewer_export) === 1,
    updatedAt: at instanceof Date ? at.toISOString() : String(at),
  };
}

export function toAuditTombstone(r: Record<string, unknown>): AuditTombstone {
  const ts = r.ts;
  return {
    orgId: String(r.org_id),
    firstSeq: Number(r.first_seq),
    lastSeq: Number(r.last_seq),
    headHash: String(r.head_hash),
    count: Number(r.count),
    ts: ts instanceof Date ? ts.toISOString() : String(ts),
    actor: String(r.actor),
    keyId: String(r.key_id),
    signature: String(r.signature),
  };
}
