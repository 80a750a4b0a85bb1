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

/**
 * `onAppended` hears of each record once it is committed (SIEM delivery wakes on it and reads the record back from the
 * store). It runs on the request path, so it must be cheap; whatever it throws is logged and costs the request nothing.
 */
export function createAuditLog(deps: { store: Pick<Store, 'appendAudit'>; log: Logger; checkpoints?: Checkpointer | undefined; onAppended?: (record: AuditRecord) => void }): AuditLog {
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
      try {
        deps.onAppended?.(record);
      } catch (err) {
        deps.log.error({ err }, 'an audit observer failed');
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
