import type { Row } from '../rows.ts';
import type { SiemCursor, SiemStore } from '../siem-types.ts';
import type { PoolClient } from 'pg';
import type { PgQuery } from './access-rules.ts';
import { query } from './query.ts';

type Transaction = <T>(fn: (client: PoolClient) => Promise<T>) => Promise<T>;

const toCursor = (r: Row): SiemCursor => ({ sink: String(r.sink), chain: String(r.chain), seq: Number(r.seq), updatedAtMs: Number(r.updated_ms) });

/** SIEM delivery cursors and leases on PostgreSQL, shared by every replica. */
export class PostgresSiem implements SiemStore {
  readonly #query: PgQuery;
  readonly #transaction: Transaction;

  constructor(q: PgQuery, transaction: Transaction) {
    this.#query = q;
    this.#transaction = transaction;
  }

  async listSiemCursors(sink?: string): Promise<SiemCursor[]> {
    const { rows } =
      sink === undefined
        ? await this.#query('SELECT * FROM siem_cursors ORDER BY sink, chain')
        : await this.#query('SELECT * FROM siem_cursors WHERE sink = $1 ORDER BY chain', [sink]);
    return rows.map(toCursor);
  }

  async advanceSiemCursor(sink: string, chain: string, seq: number, nowMs: number): Promise<void> {
    await this.#query(
      `INSERT INTO siem_cursors (sink, chain, seq, updated_ms) VALUES ($1, $2, $3, $4)
       ON CONFLICT (sink, chain) DO UPDATE SET seq = excluded.seq, updated_ms = excluded.updated_ms WHERE excluded.seq > siem_cursors.seq`,
      [sink, chain, seq, nowMs],
    );
  }

  async claimSiemLease(sink: string, holder: string, nowMs: number, untilMs: number): Promise<boolean> {
    const { rows } = await this.#query(
      `INSERT INTO siem_leases (sink, holder, until_ms) VALUES ($1, $2, $3)
       ON CONFLICT (sink) DO UPDATE SET holder = excluded.holder, until_ms = excluded.until_ms
       WHERE siem_leases.holder = excluded.holder OR siem_leases.until_ms < $4
       RETURNING holder`,
      [sink, holder, untilMs, nowMs],
    );
    return rows[0] !== undefined && String(rows[0].holder) === holder;
  }

  async releaseSiemLease(sink: string, holder: string): Promise<void> {
    await this.#query('DELETE FROM siem_leases WHERE sink = $1 AND holder = $2', [sink, holder]);
  }

  /** Read as the audit reads are: with gatehouse.org_id set for the transaction, which row-level security may require. */
  async auditHeadSeq(chain: string): Promise<number> {
    return this.#transaction(async (c) => {
      await query(c, "SELECT set_config('gatehouse.org_id', $1, true)", [chain]);
      const { rows } = await query(c, 'SELECT seq FROM audit_events WHERE org_id = $1 ORDER BY seq DESC LIMIT 1', [chain]);
      return rows[0] === undefined ? 0 : Number(rows[0].seq);
    });
  }
}
