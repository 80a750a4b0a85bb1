import type { KeyObject } from 'node:crypto';
import type { AuditTombstone } from '../../store/audit-retention-types.ts';
import type { AuditHead } from '../../store/types.ts';
import type { ChainBreak } from './chain.ts';
import { tombstoneSignedBy } from './signing.ts';

/**
 * Where a chain starts after retention: the newest of its tombstones, once every tombstone is found validly signed,
 * for this chain, and continuing the one before it from record 1. Without tombstones a chain starts at genesis, so a
 * removal no tombstone covers shows as missing records; a forged or altered tombstone is a break at its first record.
 */
export function chainStart(
  chain: string,
  tombstones: readonly AuditTombstone[],
  keyFor: (keyId: string) => KeyObject | undefined,
): { start: AuditHead | undefined; firstBreak: ChainBreak | undefined } {
  let start: AuditHead | undefined;
  for (const t of [...tombstones].sort((a, b) => a.lastSeq - b.lastSeq)) {
    const expectedFirst = (start?.seq ?? 0) + 1;
    const key = keyFor(t.keyId);
    if (t.orgId !== chain || key === undefined || !tombstoneSignedBy(t, key)) {
      return { start, firstBreak: { seq: t.firstSeq, reason: `the tombstone of records ${t.firstSeq} to ${t.lastSeq} is not validly signed${key === undefined ? ` (unknown key ${t.keyId})` : ''}: it was forged or altered` } };
    }
    if (t.firstSeq !== expectedFirst || t.lastSeq < t.firstSeq || t.count !== t.lastSeq - t.firstSeq + 1) {
      return {
        start,
        firstBreak: { seq: expectedFirst, reason: `records ${expectedFirst} to ${t.firstSeq - 1} were removed with no tombstone (the tombstone of ${t.firstSeq} to ${t.lastSeq} does not continue the one before it)` },
      };
    }
    start = { seq: t.lastSeq, hash: t.headHash };
  }
  return { start, firstBreak: undefined };
}
