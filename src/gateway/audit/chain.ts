import { createHash } from 'node:crypto';
import type { AuditEvent, AuditRecord, AuditSealer } from '../../store/types.ts';

/** The prev_hash of the first record of every chain. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * The hash covers the previous record's hash, the position and every field of the event, in a fixed order. So a
 * changed field breaks the record's own hash, and a removed, inserted or reordered record breaks the link.
 */
export function hashRecord(prevHash: string, seq: number, e: AuditEvent): string {
  const fields: unknown[] = [
    seq, e.orgId, e.ts, e.actorKeyId, e.actorUser, e.clientIp, e.action, e.targetConnector, e.targetName,
    e.decision, e.reason, e.latencyMs, e.correlationId, e.args,
  ];
  // `detail` came later: a record without one hashes as records did before it existed, so older chains verify.
  if (e.detail !== null) fields.push(e.detail);
  const canonical = JSON.stringify(fields);
  return createHash('sha256').update(prevHash).update('\n').update(canonical).digest('hex');
}

export function sealerFor(event: AuditEvent): AuditSealer {
  return (head) => {
    const seq = head === undefined ? 1 : head.seq + 1;
    const prevHash = head === undefined ? GENESIS_HASH : head.hash;
    return { ...event, seq, prevHash, hash: hashRecord(prevHash, seq, event) };
  };
}

export interface ChainBreak {
  readonly seq: number;
  readonly reason: string;
}

/** Walks a chain record by record; feed it pages in seq order, then read `result()`. */
export class ChainVerifier {
  #expectedSeq = 1;
  #prevHash = GENESIS_HASH;
  #count = 0;
  #break: ChainBreak | undefined;

  get broken(): boolean {
    return this.#break !== undefined;
  }

  push(r: AuditRecord): void {
    if (this.#break !== undefined) return;
    if (r.seq !== this.#expectedSeq) {
      this.#break =
        r.seq > this.#expectedSeq
          ? { seq: this.#expectedSeq, reason: `record ${this.#expectedSeq} is missing (removed); the chain jumps to ${r.seq}` }
          : { seq: r.seq, reason: `record ${r.seq} appears out of order` };
      return;
    }
    if (r.prevHash !== this.#prevHash) {
      this.#break = { seq: r.seq, reason: `record ${r.seq} does not link to record ${r.seq - 1} (a record was removed, inserted or reordered)` };
      return;
    }
    if (hashRecord(r.prevHash, r.seq, r) !== r.hash) {
      this.#break = { seq: r.seq, reason: `record ${r.seq} was changed: its content does not match its hash` };
      return;
    }
    this.#prevHash = r.hash;
    this.#expectedSeq++;
    this.#count++;
  }

  result(): { ok: boolean; verified: number; headHash: string; firstBreak: ChainBreak | undefined } {
    return { ok: this.#break === undefined, verified: this.#count, headHash: this.#prevHash, firstBreak: this.#break };
  }
}
