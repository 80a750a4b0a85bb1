import { hash } from 'node:crypto';

/** The prev_hash of the first record of every chain. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * The link of a version-2 record: its hash covers the previous record's hash, its position and `content`, the
 * position-independent commitment to its fields (gateway/audit/chain.ts). PostgreSQL's audit_append() computes the
 * same link in SQL, so the gateway never chooses a record's place in the chain: keep the two in step.
 */
export function linkHash(prevHash: string, seq: number, content: string): string {
  return hash('sha256', `${prevHash}\n${String(seq)}\n${content}`, 'hex');
}
