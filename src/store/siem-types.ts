/**
 * Where each SIEM sink has got to in each audit chain, and which process delivers for it. A cursor is the seq of the
 * last record of that chain the sink accepted; it only ever moves forward, so two deliverers racing (a replica whose
 * lease ran out while it was sending) can repeat a record but never make the sink skip one.
 */
export interface SiemCursor {
  readonly sink: string;
  readonly chain: string;
  readonly seq: number;
  /** Unix milliseconds of the last advance. */
  readonly updatedAtMs: number;
}

export interface SiemStore {
  /** Every cursor, or one sink's; ordered by sink, then chain. */
  listSiemCursors(sink?: string): Promise<SiemCursor[]>;
  /** Moves a cursor to `seq` unless it is already there or further. */
  advanceSiemCursor(sink: string, chain: string, seq: number, nowMs: number): Promise<void>;
  /**
   * Takes or renews the sink's lease for `holder` until `untilMs`; false while another holder's lease runs. One
   * deliverer per sink across every process on the store (replicas), so a sink does not get every record once per
   * replica.
   */
  claimSiemLease(sink: string, holder: string, nowMs: number, untilMs: number): Promise<boolean>;
  releaseSiemLease(sink: string, holder: string): Promise<void>;
  /** The seq of the chain's newest record; 0 for a chain with none. */
  auditHeadSeq(chain: string): Promise<number>;
}
