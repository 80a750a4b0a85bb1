import type { Store } from '../../store/types.ts';
import { ChainVerifier, type ChainBreak } from './chain.ts';

const PAGE = 1000;

export interface ChainReport {
  readonly chain: string;
  readonly ok: boolean;
  readonly verified: number;
  readonly headHash: string;
  readonly firstBreak: ChainBreak | undefined;
}

/** Verifies one chain from its first record; stops at the first broken link and names it. */
export async function verifyChain(store: Pick<Store, 'listAudit'>, chain: string): Promise<ChainReport> {
  const verifier = new ChainVerifier();
  let after = 0;
  for (;;) {
    const page = await store.listAudit(chain, after, PAGE);
    for (const r of page) verifier.push(r);
    const last = page.at(-1);
    if (last === undefined || page.length < PAGE || verifier.broken) break;
    after = last.seq;
  }
  return { chain, ...verifier.result() };
}

/** Writes a chain as JSON lines, one record a line, in seq order. */
export async function exportChain(store: Pick<Store, 'listAudit'>, chain: string, write: (line: string) => void | Promise<void>): Promise<number> {
  let after = 0;
  let count = 0;
  for (;;) {
    const page = await store.listAudit(chain, after, PAGE);
    for (const r of page) {
      await write(JSON.stringify(r) + '\n');
      count++;
    }
    const last = page.at(-1);
    if (last === undefined || page.length < PAGE) return count;
    after = last.seq;
  }
}
