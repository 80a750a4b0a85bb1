import type { Logger } from 'pino';
import { GatehouseError } from '../../errors.ts';
import type { AuditEvent, AuditRecord, Store } from '../../store/types.ts';
import { sealerFor } from './chain.ts';

/** The chain that holds events with no organisation: authentication failures with an unknown or missing key. */
export const SYSTEM_CHAIN = '_system';

export interface AuditLog {
  /** Appends one record; rejects with `audit_unavailable` if it cannot, so the caller fails the request. */
  record(event: AuditEvent): Promise<AuditRecord>;
}

export function createAuditLog(deps: { store: Pick<Store, 'appendAudit'>; log: Logger }): AuditLog {
  return {
    async record(event) {
      try {
        return await deps.store.appendAudit(event.orgId, sealerFor(event));
      } catch (err) {
        deps.log.error({ err, correlationId: event.correlationId, action: event.action }, 'audit write failed');
        throw new GatehouseError('audit_unavailable', 'The audit log is unavailable; the request was not completed', { cause: err });
      }
    },
  };
}
