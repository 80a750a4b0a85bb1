import type { AuditRecord } from '../../../store/types.ts';

export type SinkName = 'syslog' | 'webhook' | 'otlp';

/** Where audit records are streamed to. Each sink has its own cursor; one that is down holds back only itself. */
export interface Sink {
  readonly name: SinkName;
  /** Where it sends, for the operator (no credentials: those are never part of a sink's address). */
  readonly target: string;
  /**
   * Sends consecutive records of one chain. Resolves once the sink has accepted all of them; rejects otherwise, and
   * then none of them counts as delivered (they are sent again, with the same seq, so a receiver can drop repeats).
   */
  deliver(chain: string, records: readonly AuditRecord[]): Promise<void>;
  close(): Promise<void>;
}

/** A failed delivery, with what the operator needs to know and nothing the receiver said beyond its status. */
export class SinkError extends Error {
  override readonly name = 'SinkError';
}
