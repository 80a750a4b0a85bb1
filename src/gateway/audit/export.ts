import type { AuditTombstone } from '../../store/audit-retention-types.ts';
import type { AuditCheckpoint, AuditFilter, AuditRecord } from '../../store/types.ts';
import { COMMITTED_FIELDS, fieldDigest, fieldSalt, recordContent, type CommittedField } from './chain.ts';

/** What a PII-redacted export leaves out by default: who acted, from where, and with what arguments. */
export const PII_FIELDS: readonly CommittedField[] = ['actorUser', 'clientIp', 'args'];

export function isCommittedField(name: string): name is CommittedField {
  return (COMMITTED_FIELDS as readonly string[]).includes(name);
}

/**
 * One JSON line. JSON.stringify escapes CR, LF, ESC and every other C0 control; DEL, the C1 controls and the two
 * Unicode line separators are escaped too, so no field can end a line, forge one, or drive a terminal that shows it.
 */
export function ndjsonLine(value: unknown): string {
  return (
    JSON.stringify(value).replace(/[\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) + '\n'
  );
}

/** A record as exported in full: every field and its seed, so anyone can recompute its hash. */
export function recordLine(r: AuditRecord): string {
  return ndjsonLine(r);
}

/**
 * A record with some fields left out: each left-out field is replaced by its digest, each kept field comes with its
 * own salt, and the seed is withheld (it would give away the left-out fields' salts). It verifies as the whole record.
 * A version-1 record commits to no field alone, so it cannot be redacted: it is exported as a link.
 */
export function redactedLine(r: AuditRecord, redact: ReadonlySet<CommittedField>): string {
  if (r.salt === null) return linkLine(r);
  const { salt, ...rest } = r;
  const out: Record<string, unknown> = { ...rest };
  const salts: Record<string, string> = {};
  const redacted: Record<string, string> = {};
  for (const f of COMMITTED_FIELDS) {
    const s = fieldSalt(salt, f);
    if (redact.has(f)) {
      out[f] = null;
      redacted[f] = fieldDigest(s, r[f]);
    } else salts[f] = s;
  }
  return ndjsonLine({ ...out, salts, redacted });
}

/** A record a filter left out: its place in the chain and its content digest, so the links around it still verify. */
export function linkLine(r: AuditRecord): string {
  return ndjsonLine({ type: 'link', orgId: r.orgId, seq: r.seq, prevHash: r.prevHash, hash: r.hash, content: r.salt === null ? null : recordContent(r.orgId, r.salt, r) });
}

/** A retention tombstone: an export of the whole chain opens with them, so it verifies from where the chain now starts. */
export function tombstoneLine(t: AuditTombstone): string {
  return ndjsonLine({ type: 'tombstone', ...t });
}

export function checkpointLine(cp: AuditCheckpoint): string {
  return ndjsonLine({ type: 'checkpoint', ...cp });
}

/** The store's filter, applied to a record in memory (an export walks the chain and keeps the matching ones whole). */
export function matchesFilter(r: AuditRecord, f: Omit<AuditFilter, 'afterSeq' | 'limit'>): boolean {
  if (f.action !== undefined) {
    if (f.action.endsWith('*') ? !r.action.startsWith(f.action.slice(0, -1)) : r.action !== f.action) return false;
  }
  if (f.decision !== undefined && r.decision !== f.decision) return false;
  if (f.actorKeyId !== undefined && r.actorKeyId !== f.actorKeyId) return false;
  if (f.actorUser !== undefined && r.actorUser !== f.actorUser) return false;
  if (f.targetConnector !== undefined && r.targetConnector !== f.targetConnector) return false;
  if (f.since !== undefined && Date.parse(r.ts) < Date.parse(f.since)) return false;
  if (f.until !== undefined && Date.parse(r.ts) >= Date.parse(f.until)) return false;
  return true;
}
