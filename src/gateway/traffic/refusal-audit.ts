import { newCorrelationId } from '../../ids.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import { auditEvent } from '../audit/event.ts';

/** Who a refused request was, for the aggregated record. */
export interface RefusalFacts {
  readonly orgId: string;
  readonly actor: { readonly keyId: string | null; readonly user: string | null } | undefined;
  readonly clientIp: string | null;
  readonly action: string;
}

interface Window {
  start: number;
  suppressed: number;
  readonly limit: string;
  readonly facts: RefusalFacts;
}

export interface RefusalAudit {
  /**
   * A request was refused by `limit` for `subject` (a key, an organisation, an address). True: write its record as
   * usual (the first of the window); false: it is counted, and its record is not written.
   */
  refused(limit: string, subject: string, facts: RefusalFacts, now: number): boolean;
  /** Writes the aggregated records of the windows that ended (all of them with `all`). */
  flush(now: number, all?: boolean): Promise<void>;
}

const MAX_WINDOWS = 10_000;

/**
 * A flood of refusals must not flood the audit log: per (limit, subject) and window, the first refusal is written as
 * a normal deny record and the rest are only counted; when the window has ended (the next flush), one record says
 * how many were suppressed (`detail.limit = { name, suppressed }`, action `traffic.suppressed`). At most
 * `MAX_WINDOWS` windows are held; past it the oldest is written out early.
 */
export function createRefusalAudit(deps: { readonly audit: Pick<AuditLog, 'record'>; readonly windowMs: number; readonly onError: (err: unknown) => void }): RefusalAudit {
  const windows = new Map<string, Window>();

  function write(w: Window): Promise<void> {
    return deps.audit
      .record(
        auditEvent({
          orgId: w.facts.orgId,
          actor: w.facts.actor,
          clientIp: w.facts.clientIp,
          action: 'traffic.suppressed',
          target: w.facts.action,
          decision: 'deny',
          reason: `rate_limited:${w.limit}`,
          correlationId: newCorrelationId(),
          detail: { limit: { name: w.limit, suppressed: w.suppressed, windowMs: deps.windowMs } },
        }),
      )
      .then(() => undefined);
  }

  return {
    refused(limit, subject, facts, now) {
      const id = `${facts.orgId}\u0000${limit}\u0000${subject}`;
      const w = windows.get(id);
      if (w !== undefined && now - w.start < deps.windowMs) {
        w.suppressed++;
        return false;
      }
      if (w !== undefined) {
        windows.delete(id);
        if (w.suppressed > 0) write(w).catch(deps.onError);
      }
      windows.set(id, { start: now, suppressed: 0, limit, facts });
      if (windows.size > MAX_WINDOWS) {
        const [oldId, old] = windows.entries().next().value as [string, Window];
        windows.delete(oldId);
        if (old.suppressed > 0) write(old).catch(deps.onError);
      }
      return true;
    },
    async flush(now, all = false) {
      const due: Window[] = [];
      for (const [id, w] of windows) {
        if (!all && now - w.start < deps.windowMs) continue;
        windows.delete(id);
        if (w.suppressed > 0) due.push(w);
      }
      await Promise.all(due.map(write));
    },
  };
}
