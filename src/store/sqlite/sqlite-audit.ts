import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { AUDIT_COLUMNS, auditValues, type Row } from '../rows.ts';
import type { AuditRecord, AuditSealer } from '../types.ts';

const HEAD_SQL = 'SELECT seq, hash FROM audit_events WHERE org_id = ? ORDER BY seq DESC LIMIT 1';
const INSERT_SQL = `INSERT INTO audit_events (${AUDIT_COLUMNS.join(', ')}) VALUES (${AUDIT_COLUMNS.map(() => '?').join(', ')})`;

interface PendingAudit {
  readonly orgId: string;
  readonly seal: AuditSealer;
  readonly resolve: (record: AuditRecord) => void;
  readonly reject: (err: Error) => void;
}

/** The SQLite store's audit appender. */
export class SqliteAuditWriter {
  readonly #db: DatabaseSync;
  readonly #stmt: (sql: string) => StatementSync;
  readonly #pending: PendingAudit[] = [];

  constructor(db: DatabaseSync, stmt: (sql: string) => StatementSync) {
    this.#db = db;
    this.#stmt = stmt;
  }

  /**
   * Group commit: appends that arrive in the same turn of the event loop share one transaction, and each caller's
   * promise settles only after the commit that holds its record. One transaction per record cost ~28 µs; a shared
   * one costs a fraction of that per record under concurrency, and nothing extra at concurrency 1.
   */
  append(orgId: string, seal: AuditSealer): Promise<AuditRecord> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ orgId, seal, resolve, reject });
      if (this.#pending.length === 1) setImmediate(() => {
        this.flush();
      });
    });
  }

  flush(): void {
    const batch = this.#pending.splice(0);
    if (batch.length === 0) return;
    let head: StatementSync;
    let insert: StatementSync;
    try {
      head = this.#stmt(HEAD_SQL);
      insert = this.#stmt(INSERT_SQL);
      this.#db.exec('BEGIN IMMEDIATE');
    } catch (err) {
      for (const p of batch) p.reject(asError(err));
      return;
    }
    const heads = new Map<string, { seq: number; hash: string } | undefined>();
    const written: { p: PendingAudit; record: AuditRecord }[] = [];
    for (const p of batch) {
      try {
        let current = heads.get(p.orgId);
        if (!heads.has(p.orgId)) {
          const row = head.get(p.orgId) as Row | undefined;
          current = row ? { seq: Number(row.seq), hash: String(row.hash) } : undefined;
        }
        const record = p.seal(current);
        insert.run(...auditValues(record));
        heads.set(p.orgId, { seq: record.seq, hash: record.hash });
        written.push({ p, record });
      } catch (err) {
        // A failed statement leaves the transaction usable and the chain head where it was.
        p.reject(asError(err));
      }
    }
    try {
      this.#db.exec('COMMIT');
    } catch (err) {
      try {
        this.#db.exec('ROLLBACK');
      } catch {
        // the failed COMMIT may already have ended the transaction
      }
      for (const w of written) w.p.reject(asError(err));
      return;
    }
    for (const w of written) w.p.resolve(w.record);
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
