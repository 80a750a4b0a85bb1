import { createHash, hash, randomFillSync } from 'node:crypto';
import { GENESIS_HASH, linkHash } from '../../store/audit-link.ts';
import type { AuditEvent, AuditRecord, AuditSealer } from '../../store/types.ts';

export { GENESIS_HASH } from '../../store/audit-link.ts';

/**
 * The fields a version-2 record commits to one by one, in this order. `orgId`, `seq` and the hashes are the chain's
 * own structure and stay in the clear; any of these may be left out of an export and keep its digest.
 */
export const COMMITTED_FIELDS = [
  'ts', 'actorKeyId', 'actorUser', 'clientIp', 'action', 'targetConnector', 'targetName', 'decision', 'reason',
  'latencyMs', 'correlationId', 'args', 'detail',
] as const satisfies readonly (keyof AuditEvent)[];
export type CommittedField = (typeof COMMITTED_FIELDS)[number];

/**
 * Version 1: the hash covers the previous record's hash, the position and every field of the event, in a fixed order.
 * So a changed field breaks the record's own hash, and a removed, inserted or reordered record breaks the link.
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

/**
 * A field's own salt. Derived from the record's seed so one value is stored per record, and one-way so an export
 * that reveals the salts of the fields it keeps says nothing about the salt (and so the value) of a field it left out.
 */
export function fieldSalt(seed: string, field: CommittedField): string {
  return hash('sha256', `gatehouse-audit/v2/salt\n${seed}\n${field}`, 'hex');
}

/** A field's commitment: without its salt, a left-out value (an address, a user) cannot be confirmed by guessing. */
export function fieldDigest(salt: string, value: unknown): string {
  return hash('sha256', `${salt}\n${JSON.stringify(value)}`, 'hex');
}

/** The position-independent commitment of a version-2 record: its chain and its fields' digests in order. */
export function contentOf(orgId: string, digests: readonly string[]): string {
  return hash('sha256', JSON.stringify(['gatehouse-audit/v2', orgId, ...digests]), 'hex');
}

export function recordContent(orgId: string, seed: string, e: Pick<AuditEvent, CommittedField>): string {
  return contentOf(orgId, COMMITTED_FIELDS.map((f) => fieldDigest(fieldSalt(seed, f), e[f])));
}

/** The hash a record must have, by the rule of its version. */
export function expectedHash(r: AuditRecord): string {
  return r.salt === null ? hashRecord(r.prevHash, r.seq, r) : linkHash(r.prevHash, r.seq, recordContent(r.orgId, r.salt, r));
}

/** Record seeds come from one pooled buffer of CSPRNG bytes, refilled every 256 records: one system call, not one each. */
const SEED_BYTES = 16;
const seedPool = Buffer.alloc(SEED_BYTES * 256);
let seedAt = seedPool.length;

function nextSeed(): string {
  if (seedAt === seedPool.length) {
    randomFillSync(seedPool);
    seedAt = 0;
  }
  const seed = seedPool.toString('hex', seedAt, seedAt + SEED_BYTES);
  seedAt += SEED_BYTES;
  return seed;
}

/** Seals new records as version 2. The content is computed once, before the record has a place in the chain. */
export function sealerFor(event: AuditEvent): AuditSealer {
  const salt = nextSeed();
  const content = recordContent(event.orgId, salt, event);
  const draft = { ...event, salt };
  const seal = (head: { seq: number; hash: string } | undefined): AuditRecord => {
    const seq = head === undefined ? 1 : head.seq + 1;
    const prevHash = head === undefined ? GENESIS_HASH : head.hash;
    return { ...draft, seq, prevHash, hash: linkHash(prevHash, seq, content) };
  };
  return Object.assign(seal, { content, draft });
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

  /** `start`: the record a tombstone says the chain now starts after (retention removed those up to it). */
  constructor(start?: { readonly seq: number; readonly hash: string }) {
    if (start !== undefined) {
      this.#expectedSeq = start.seq + 1;
      this.#prevHash = start.hash;
    }
  }

  get broken(): boolean {
    return this.#break !== undefined;
  }

  /** Stops the walk at a break found outside the links (a checkpoint that does not match). */
  fail(b: ChainBreak): void {
    this.#break ??= b;
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
    if (expectedHash(r) !== r.hash) {
      this.#break = { seq: r.seq, reason: `record ${r.seq} was changed: its content does not match its hash` };
      return;
    }
    this.#prevHash = r.hash;
    this.#expectedSeq++;
    this.#count++;
  }

  /** The seq of the last record verified (the tombstone's when none followed it; 0 for an empty chain). */
  get lastSeq(): number {
    return this.#expectedSeq - 1;
  }

  result(): { ok: boolean; verified: number; headHash: string; firstBreak: ChainBreak | undefined } {
    return { ok: this.#break === undefined, verified: this.#count, headHash: this.#prevHash, firstBreak: this.#break };
  }
}
