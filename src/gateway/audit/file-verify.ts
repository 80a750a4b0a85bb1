import type { KeyObject } from 'node:crypto';
import { linkHash } from '../../store/audit-link.ts';
import type { AuditCheckpoint, AuditRecord } from '../../store/types.ts';
import { COMMITTED_FIELDS, contentOf, expectedHash, fieldDigest, GENESIS_HASH, type ChainBreak } from './chain.ts';
import { checkpointSignedBy } from './signing.ts';
import { chainStart } from './tombstones.ts';
import type { AuditTombstone } from '../../store/audit-retention-types.ts';

export interface FileReport {
  readonly ok: boolean;
  /** Whole (or redacted) records whose hash was recomputed from their fields. */
  readonly records: number;
  /** Records a filter left out, verified by their link and content digest only. */
  readonly links: number;
  readonly checkpoints: number;
  /** Records covered by a signed checkpoint later in the file; the rest could have been appended or cut by anyone. */
  readonly anchored: number;
  readonly unanchored: number;
  readonly firstBreak: (ChainBreak & { readonly line: number }) | undefined;
}

const HEX64 = /^[0-9a-f]{64}$/;

type Entry = { seq: number; orgId: string; prevHash: string; hash: string; computed: string | undefined; whole: boolean };

/**
 * Verifies an export with nothing but the public key: every line's hash from its fields (or, for a redacted field,
 * its digest; for a left-out record, its content digest), every link, and every checkpoint's signature and place.
 * A record counts as anchored only when a validly signed checkpoint after it closes an unbroken run of links.
 */
export async function verifyExport(lines: AsyncIterable<string>, publicKey: KeyObject): Promise<FileReport> {
  let records = 0;
  let links = 0;
  let checkpoints = 0;
  let anchored = 0;
  let pending = 0;
  let lost = 0;
  let prev: { seq: number; hash: string } | undefined;
  let chain: string | undefined;
  const tombstones: AuditTombstone[] = [];
  let n = 0;
  const report = (firstBreak?: ChainBreak): FileReport => ({
    ok: firstBreak === undefined && pending + lost === 0 && checkpoints > 0,
    records, links, checkpoints, anchored, unanchored: pending + lost,
    firstBreak: firstBreak && { ...firstBreak, line: n },
  });
  for await (const raw of lines) {
    n++;
    if (raw.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      return report({ seq: (prev?.seq ?? 0) + 1, reason: `line ${n} is not JSON` });
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return report({ seq: (prev?.seq ?? 0) + 1, reason: `line ${n} is not a JSON object` });
    const o = value as Record<string, unknown>;
    if (o.type === 'checkpoint') {
      const cp = asCheckpoint(o);
      if (cp === undefined || !checkpointSignedBy(cp, publicKey)) {
        return report({ seq: typeof o.seq === 'number' ? o.seq : 0, reason: `the checkpoint on line ${n} is not validly signed by this key: it was forged or altered` });
      }
      if (prev === undefined || cp.seq !== prev.seq || cp.hash !== prev.hash || cp.orgId !== chain) {
        return report({ seq: cp.seq, reason: `the checkpoint on line ${n} does not match record ${cp.seq} before it: the chain was rewritten` });
      }
      checkpoints++;
      anchored += pending;
      pending = 0;
      continue;
    }
    if (o.type === 'tombstone') {
      // Retention's tombstones come first: the chain then starts after the newest, at the hash it names.
      const t = asTombstone(o);
      if (t === undefined) return report({ seq: (prev?.seq ?? 0) + 1, reason: `line ${n} is not a tombstone` });
      if (records + links > 0) return report({ seq: t.firstSeq, reason: `the tombstone on line ${n} comes after records: tombstones open an export` });
      tombstones.push(t);
      const { start, firstBreak } = chainStart(t.orgId, tombstones, () => publicKey);
      if (firstBreak !== undefined || (chain !== undefined && chain !== t.orgId)) {
        return report(firstBreak ?? { seq: t.firstSeq, reason: `line ${n} belongs to another chain (${t.orgId})` });
      }
      chain = t.orgId;
      prev = start;
      continue;
    }
    const e = asEntry(o);
    if (e === undefined) return report({ seq: (prev?.seq ?? 0) + 1, reason: `line ${n} is not an audit record` });
    if (chain !== undefined && e.orgId !== chain) return report({ seq: e.seq, reason: `line ${n} belongs to another chain (${e.orgId})` });
    chain = e.orgId;
    if (prev === undefined ? e.seq === 1 && e.prevHash !== GENESIS_HASH : e.seq !== prev.seq + 1) {
      return report({
        seq: prev === undefined ? 1 : prev.seq + 1,
        reason: prev === undefined ? 'record 1 does not start at the genesis hash' : `record ${prev.seq + 1} is missing; line ${n} holds record ${e.seq}`,
      });
    }
    if (prev !== undefined && e.prevHash !== prev.hash) return report({ seq: e.seq, reason: `record ${e.seq} does not link to record ${prev.seq}` });
    if (e.computed === undefined) {
      // A left-out version-1 record shows no content to check its hash by: nothing before it can be anchored past it.
      lost += pending;
      pending = 0;
    } else if (e.computed !== e.hash) {
      return report({ seq: e.seq, reason: `record ${e.seq} was changed: its content does not match its hash` });
    }
    if (e.whole) {
      records++;
      pending++;
    } else links++;
    prev = { seq: e.seq, hash: e.hash };
  }
  return report();
}

function asTombstone(o: Record<string, unknown>): AuditTombstone | undefined {
  const { orgId, firstSeq, lastSeq, headHash, count, ts, actor, keyId, signature } = o;
  if (typeof orgId !== 'string' || typeof firstSeq !== 'number' || typeof lastSeq !== 'number' || typeof count !== 'number') return undefined;
  if (typeof headHash !== 'string' || !HEX64.test(headHash) || typeof ts !== 'string' || typeof actor !== 'string') return undefined;
  if (typeof keyId !== 'string' || typeof signature !== 'string') return undefined;
  return { orgId, firstSeq, lastSeq, headHash, count, ts, actor, keyId, signature };
}

function asCheckpoint(o: Record<string, unknown>): AuditCheckpoint | undefined {
  const { orgId, seq, hash, ts, keyId, signature } = o;
  if (typeof orgId !== 'string' || typeof seq !== 'number' || typeof hash !== 'string' || typeof ts !== 'string') return undefined;
  if (typeof keyId !== 'string' || typeof signature !== 'string') return undefined;
  return { orgId, seq, hash, ts, keyId, signature };
}

function asEntry(o: Record<string, unknown>): Entry | undefined {
  const { seq, orgId, prevHash, hash } = o;
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1 || typeof orgId !== 'string') return undefined;
  if (typeof prevHash !== 'string' || !HEX64.test(prevHash) || typeof hash !== 'string' || !HEX64.test(hash)) return undefined;
  const base = { seq, orgId, prevHash, hash };
  if (o.type === 'link') {
    const content = o.content;
    if (content === null) return { ...base, computed: undefined, whole: false };
    return typeof content === 'string' && HEX64.test(content) ? { ...base, computed: linkHash(prevHash, seq, content), whole: false } : undefined;
  }
  if (o.type !== undefined) return undefined;
  if (typeof o.salts === 'object' && o.salts !== null && typeof o.redacted === 'object' && o.redacted !== null) {
    const salts = o.salts as Record<string, unknown>;
    const redacted = o.redacted as Record<string, unknown>;
    const digests: string[] = [];
    for (const f of COMMITTED_FIELDS) {
      const s = salts[f];
      const d = redacted[f];
      if (typeof s === 'string' && d === undefined) digests.push(fieldDigest(s, o[f] ?? null));
      else if (typeof d === 'string' && s === undefined && HEX64.test(d)) digests.push(d);
      else return undefined;
    }
    return { ...base, computed: linkHash(prevHash, seq, contentOf(orgId, digests)), whole: true };
  }
  const salt = o.salt ?? null;
  if (salt !== null && typeof salt !== 'string') return undefined;
  // A whole record: recomputed by the rule of its version from exactly the fields a record has.
  // `detail` is absent from exports older than the field; such a record hashes as if it were null.
  const r = { detail: null, ...o, salt } as unknown as AuditRecord;
  for (const f of COMMITTED_FIELDS) if (f !== 'detail' && !(f in o)) return undefined;
  return { ...base, computed: expectedHash(r), whole: true };
}
