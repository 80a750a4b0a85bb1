import type { KeyObject } from 'node:crypto';
import type { AuditCheckpoint, Store } from '../../store/types.ts';
import { ChainVerifier, type ChainBreak } from './chain.ts';
import { checkpointSignedBy, parsePublicKey } from './signing.ts';
import { chainStart } from './tombstones.ts';

const PAGE = 1000;

export interface ChainReport {
  readonly chain: string;
  readonly ok: boolean;
  readonly verified: number;
  readonly headHash: string;
  readonly firstBreak: ChainBreak | undefined;
  /** Signed checkpoints found valid and matching their record, and the last record they cover. */
  readonly checkpoints: { readonly verified: number; readonly latestSeq: number | null };
  /** Records removed by retention, as the newest valid tombstone says: the walk started after `throughSeq`. */
  readonly pruned: { readonly tombstones: number; readonly throughSeq: number } | null;
}

export interface VerifyOptions {
  /** Verify checkpoints with this key only (the one a verifier was given); default: the keys the store holds. */
  readonly publicKey?: KeyObject | undefined;
  /** Checkpoints kept outside the database (the anchor file): the chain must reach and match them too. */
  readonly anchors?: readonly AuditCheckpoint[] | undefined;
  /** Called after each page: records verified so far of the head's seq. */
  readonly onProgress?: ((done: number, total: number) => void) | undefined;
}

/**
 * Checkpoints of one chain in seq order, each checked against the record at its seq as the walk reaches it. A
 * checkpoint beyond the chain's end means its tail was removed; one that does not match means the chain was
 * rewritten (and re-hashed); one whose signature fails was forged.
 */
export class CheckpointCheck {
  readonly #queue: AuditCheckpoint[];
  readonly #keyFor: (keyId: string) => KeyObject | undefined;
  #verified = 0;
  #latest: number | null = null;

  constructor(checkpoints: readonly AuditCheckpoint[], keyFor: (keyId: string) => KeyObject | undefined) {
    this.#queue = [...checkpoints].sort((a, b) => a.seq - b.seq);
    this.#keyFor = keyFor;
  }

  /** The break at this record, if a checkpoint of its seq is forged or names another hash. */
  check(seq: number, hash: string): ChainBreak | undefined {
    while (this.#queue[0] !== undefined && this.#queue[0].seq <= seq) {
      const cp = this.#queue.shift();
      if (cp === undefined) break;
      const key = this.#keyFor(cp.keyId);
      if (key === undefined || !checkpointSignedBy(cp, key)) {
        return { seq: cp.seq, reason: `the checkpoint of record ${cp.seq} is not validly signed${key === undefined ? ` (unknown key ${cp.keyId})` : ''}: it was forged or altered` };
      }
      if (cp.seq === seq && cp.hash !== hash) {
        return { seq, reason: `record ${seq} does not match its signed checkpoint: the chain was rewritten from here or earlier` };
      }
      if (cp.seq < seq) continue;
      this.#verified++;
      this.#latest = seq;
    }
    return undefined;
  }

  /** After the last record: a checkpoint still waiting covers records that are no longer there. */
  end(lastSeq: number): ChainBreak | undefined {
    const beyond = this.#queue.find((cp) => cp.seq > lastSeq);
    if (beyond === undefined) return undefined;
    const key = this.#keyFor(beyond.keyId);
    if (key === undefined || !checkpointSignedBy(beyond, key)) {
      return { seq: beyond.seq, reason: `the checkpoint of record ${beyond.seq} is not validly signed: it was forged or altered` };
    }
    return {
      seq: lastSeq + 1,
      reason: `the chain ends at record ${lastSeq}, but a signed checkpoint covers record ${beyond.seq}: records ${lastSeq + 1} to ${beyond.seq} or more were removed`,
    };
  }

  result(): { verified: number; latestSeq: number | null } {
    return { verified: this.#verified, latestSeq: this.#latest };
  }
}

/** Verifies one chain from its first record: links, hashes and signed checkpoints; stops at the first break and names it. */
export async function verifyChain(
  store: Pick<Store, 'listAudit' | 'auditAnchors' | 'auditRetention'>,
  chain: string,
  options: VerifyOptions = {},
): Promise<ChainReport> {
  const stored = await store.auditAnchors.listCheckpoints(chain);
  const keys = new Map<string, KeyObject>();
  if (options.publicKey === undefined) {
    for (const k of await store.auditAnchors.listSigningKeys()) {
      const key = parsePublicKey(k.publicKey);
      if (key !== undefined) keys.set(k.id, key);
    }
  }
  const keyFor = (id: string) => options.publicKey ?? keys.get(id);
  const checks = new CheckpointCheck([...stored, ...(options.anchors ?? []).filter((a) => a.orgId === chain)], keyFor);
  const total = (await store.auditAnchors.head(chain))?.seq ?? 0;
  const tombstones = await store.auditRetention.listTombstones(chain);
  const { start, firstBreak } = chainStart(chain, tombstones, keyFor);
  const verifier = new ChainVerifier(start);
  if (firstBreak !== undefined) verifier.fail(firstBreak);
  const atCut = start === undefined ? undefined : stored.find((cp) => cp.seq === start.seq);
  if (start !== undefined && atCut !== undefined && atCut.hash !== start.hash) {
    verifier.fail({ seq: start.seq, reason: `the tombstone ending at record ${start.seq} does not match the signed checkpoint of that record` });
  }
  let after = start?.seq ?? 0;
  for (let more = !verifier.broken; more; ) {
    const page = await store.listAudit(chain, after, PAGE);
    for (const r of page) {
      verifier.push(r);
      if (verifier.broken) break;
      const b = checks.check(r.seq, r.hash);
      if (b !== undefined) {
        verifier.fail(b);
        break;
      }
    }
    const last = page.at(-1);
    options.onProgress?.(last?.seq ?? after, total);
    more = last !== undefined && page.length === PAGE && !verifier.broken;
    after = last?.seq ?? after;
  }
  if (!verifier.broken) {
    const b = checks.end(verifier.lastSeq);
    if (b !== undefined) verifier.fail(b);
  }
  const pruned = start === undefined ? null : { tombstones: tombstones.length, throughSeq: start.seq };
  return { chain, ...verifier.result(), checkpoints: checks.result(), pruned };
}
