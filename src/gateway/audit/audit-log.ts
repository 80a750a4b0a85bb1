import type { Logger } from 'pino';
import { GatehouseError } from '../../errors.ts';
import type { AuditCheckpoint, AuditEvent, AuditRecord, Store } from '../../store/types.ts';
import { sealerFor } from './chain.ts';
import type { Checkpointer } from './checkpoints.ts';

/** The chain that holds events with no organisation: authentication failures with an unknown or missing key. */
export const SYSTEM_CHAIN = '_system';

export interface AuditLog {
  /** Appends one record; rejects with `audit_unavailable` if it cannot, so the caller fails the request. */
  record(event: AuditEvent): Promise<AuditRecord>;
  /** Signs the chain's head now (before an export, so it ends anchored); undefined when checkpoints are off or the chain is empty. */
  checkpoint(orgId: string): Promise<AuditCheckpoint | undefined>;
  /** Writes the checkpoints still due; the log is not used afterwards. */
  close(): Promise<void>;
}

export function createAuditLog(deps: { store: Pick<Store, 'appendAudit'>; log: Logger; checkpoints?: Checkpointer | undefined }): AuditLog {
  const { checkpoints } = deps;
  return {
    async record(event) {
      let record: AuditRecord;
      try {
        record = await deps.store.appendAudit(event.orgId, sealerFor(event));
      } catch (err) {
        deps.log.error({ err, correlationId: event.correlationId, action: event.action }, 'audit write failed');
        throw new GatehouseError('audit_unavailable', 'The audit log is unavailable; the request was not completed', { cause: err });
      }
      checkpoints?.note(record);
      return record;
    },
    async checkpoint(orgId) {
      return checkpoints === undefined ? undefined : checkpoints.checkpointHead(orgId);
    },
    async close() {
      await checkpoints?.close();
    },
  };
}
