import type { Row } from '../rows.ts';
import type { SiemCursor, SiemStore } from '../siem-types.ts';
import type { SqliteRunner } from './sqlite-identity.ts';

const toCursor = (r: Row): SiemCursor => ({ sink: String(r.sink), chain: String(r.chain), seq: Number(r.seq), updatedAtMs: Number(r.updated_ms) });

/** SIEM delivery cursors and leases on SQLite. */
export class SqliteSiem implements SiemStore {
  readonly #db: SqliteRunner;
  readonly #run: <T>(fn: () => T) => Promise<T>;

  constructor(db: SqliteRunner, run: <T>(fn: () => T) => Promise<T>) {
    this.#db = db;
    this.#run = run;
  }

  listSiemCursors(sink?: string): Promise<SiemCursor[]> {
    return this.#run(() =>
      (sink === undefined
        ? (this.#db.stmt('SELECT * FROM siem_cursors ORDER BY sink, chain').all() as Row[])
        : (this.#db.stmt('SELECT * FROM siem_cursors WHERE sink = ? ORDER BY chain').all(sink) as Row[])
      ).map(toCursor),
    );
  }

  advanceSiemCursor(sink: string, chain: string, seq: number, nowMs: number): Promise<void> {
    return this.#run(() => {
      this.#db
        .stmt(
          `INSERT INTO siem_cursors (sink, chain, seq, updated_ms) VALUES (?, ?, ?, ?)
           ON CONFLICT (sink, chain) DO UPDATE SET seq = excluded.seq, updated_ms = excluded.updated_ms WHERE excluded.seq > siem_cursors.seq`,
        )
        .run(sink, chain, seq, nowMs);
    });
  }

  claimSiemLease(sink: string, holder: string, nowMs: number, untilMs: number): Promise<boolean> {
    return this.#run(() => {
      const row = this.#db
        .stmt(
          `INSERT INTO siem_leases (sink, holder, until_ms) VALUES (?, ?, ?)
           ON CONFLICT (sink) DO UPDATE SET holder = excluded.holder, until_ms = excluded.until_ms
           WHERE siem_leases.holder = excluded.holder OR siem_leases.until_ms < ?
           RETURNING holder`,
        )
        .get(sink, holder, untilMs, nowMs) as Row | undefined;
      return row !== undefined && String(row.holder) === holder;
    });
  }

  releaseSiemLease(sink: string, holder: string): Promise<void> {
    return this.#run(() => {
      this.#db.stmt('DELETE FROM siem_leases WHERE sink = ? AND holder = ?').run(sink, holder);
    });
  }

  auditHeadSeq(chain: string): Promise<number> {
    return this.#run(() => {
      const row = this.#db.stmt('SELECT seq FROM audit_events WHERE org_id = ? ORDER BY seq DESC LIMIT 1').get(chain) as Row | undefined;
      return row === undefined ? 0 : Number(row.seq);
    });
  }
}
