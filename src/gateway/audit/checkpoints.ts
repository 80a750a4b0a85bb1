import { appendFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { AuditAnchorStore, AuditCheckpoint, AuditHead, AuditRecord } from '../../store/types.ts';
import type { AuditSigner } from './signing.ts';

export interface CheckpointSettings {
  /** Sign a chain's head after this many records written by this process; 0: no checkpoints. */
  readonly every: number;
  /** ... or this long after the first record not yet checkpointed. */
  readonly intervalMs: number;
  /** Each checkpoint is also appended to this file (JSON lines): an anchor outside the database. */
  readonly anchorFile?: string | undefined;
}

export interface Checkpointer {
  /** Called after each committed append: counts in memory, and writes a checkpoint every `every` records. */
  note(record: AuditRecord): void;
  /** Signs the chain's current head now (e.g. before an export) and returns the checkpoint; undefined for an empty chain. */
  checkpointHead(orgId: string): Promise<AuditCheckpoint | undefined>;
  /** Writes checkpoints for every chain with records not yet checkpointed, and waits for those in flight. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Signed checkpoints of the chain heads this process wrote. Nothing here is on the request's path: `note` is a map
 * update, and one checkpoint (one signature, one insert) is written per `every` records or per interval, not per
 * record. A checkpoint that cannot be written is logged and tried again with the next one; it never fails a request.
 */
export function createCheckpointer(deps: {
  readonly anchors: Pick<AuditAnchorStore, 'insertCheckpoint' | 'head'>;
  readonly signer: () => Promise<AuditSigner>;
  readonly settings: CheckpointSettings;
  readonly log: Logger;
}): Checkpointer {
  const { settings, log } = deps;
  const pending = new Map<string, { head: AuditHead; count: number }>();
  const inFlight = new Set<Promise<void>>();
  let signer: Promise<AuditSigner> | undefined;
  const getSigner = () => {
    signer ??= deps.signer().catch((err: unknown) => {
      signer = undefined;
      throw err;
    });
    return signer;
  };

  async function write(orgId: string, head: AuditHead): Promise<AuditCheckpoint> {
    const cp = (await getSigner()).sign(orgId, head);
    await deps.anchors.insertCheckpoint(cp);
    if (settings.anchorFile !== undefined) await appendFile(settings.anchorFile, JSON.stringify({ type: 'checkpoint', ...cp }) + '\n', { mode: 0o600 });
    return cp;
  }

  function start(orgId: string): void {
    const entry = pending.get(orgId);
    if (entry === undefined) return;
    pending.delete(orgId);
    const p = write(orgId, entry.head).then(
      () => undefined,
      (err: unknown) => {
        // Put back what was not checkpointed, unless newer records already wait.
        const now = pending.get(orgId);
        if (now === undefined || now.head.seq < entry.head.seq) pending.set(orgId, { head: entry.head, count: entry.count + (now?.count ?? 0) });
        log.error({ err: err instanceof Error ? err.message : String(err), chain: orgId }, 'cannot write an audit checkpoint');
      },
    );
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  }

  const flushAll = () => {
    for (const orgId of [...pending.keys()]) start(orgId);
  };
  const timer = settings.every > 0 ? setInterval(flushAll, settings.intervalMs) : undefined;
  timer?.unref();

  return {
    note(record) {
      if (settings.every <= 0) return;
      const entry = pending.get(record.orgId);
      // Appends of one chain can settle out of order under concurrency: the checkpoint is of the highest seen.
      if (entry === undefined) pending.set(record.orgId, { head: { seq: record.seq, hash: record.hash }, count: 1 });
      else {
        entry.count++;
        if (record.seq > entry.head.seq) entry.head = { seq: record.seq, hash: record.hash };
      }
      if ((pending.get(record.orgId)?.count ?? 0) >= settings.every) start(record.orgId);
    },
    async checkpointHead(orgId) {
      const head = await deps.anchors.head(orgId);
      return head === undefined ? undefined : write(orgId, head);
    },
    async flush() {
      flushAll();
      await Promise.all([...inFlight]);
    },
    async close() {
      clearInterval(timer);
      flushAll();
      await Promise.all([...inFlight]);
    },
  };
}
