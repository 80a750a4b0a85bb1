import type { PoolClient } from 'pg';
import { GatehouseError } from '../../errors.ts';
import { AUDIT_COLUMNS, auditValues, auditWhere, toAuditRecord } from '../rows.ts';
import type { AuditFilter, AuditRecord, AuditSealer } from '../types.ts';
import { query, type Queryable } from './query.ts';

type Transaction = <T>(fn: (client: PoolClient) => Promise<T>) => Promise<T>;

const INSERT_AUDIT = `INSERT INTO audit_events (${AUDIT_COLUMNS.join(', ')})
  VALUES (${AUDIT_COLUMNS.map((_, i) => `$${String(i + 1)}`).join(', ')})`;

/** The audit chains: the PostgreSQL half of the Store's audit methods. */
export class PostgresAudit {
  readonly #pool: Queryable;
  readonly #transaction: Transaction;

  constructor(pool: Queryable, transaction: Transaction) {
    this.#pool = pool;
    this.#transaction = transaction;
  }

  /**
   * The advisory lock serialises appenders of one organisation across every process, so the head read below is the
   * head the insert extends. READ COMMITTED is stated, not inherited: each statement takes a fresh snapshot, so the head
   * read after the lock sees the previous holder's commit (under REPEATABLE READ the snapshot would predate the lock).
   */
  async append(orgId: string, seal: AuditSealer): Promise<AuditRecord> {
    return this.#transaction(async (c) => {
      await query(c, 'SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`gatehouse:audit:${orgId}`]);
      const { rows } = await query(c, 'SELECT seq, hash FROM audit_events WHERE org_id = $1 ORDER BY seq DESC LIMIT 1', [orgId]);
      const head = rows[0];
      const record = seal(head === undefined ? undefined : { seq: Number(head.seq), hash: String(head.hash) });
      if (record.orgId !== orgId) throw new GatehouseError('internal', 'an audit record was sealed for another chain');
      // The hash covers ts as written; TIMESTAMPTZ gives back the toISOString() form, so only that form round-trips.
      if (Number.isNaN(Date.parse(record.ts)) || new Date(record.ts).toISOString() !== record.ts) {
        throw new GatehouseError('internal', 'an audit record time must be in the form Date.toISOString() produces');
      }
      await query(c, INSERT_AUDIT, auditValues(record));
      return record;
    });
  }

  async list(orgId: string, afterSeq: number, limit: number): Promise<AuditRecord[]> {
    const { rows } = await query(this.#pool, 'SELECT * FROM audit_events WHERE org_id = $1 AND seq > $2 ORDER BY seq LIMIT $3', [
      orgId, afterSeq, limit,
    ]);
    return rows.map(toAuditRecord);
  }

  async search(orgId: string, filter: AuditFilter): Promise<AuditRecord[]> {
    const { where, values } = auditWhere(orgId, filter, (n) => `$${String(n)}`);
    const { rows } = await query(this.#pool, `SELECT * FROM audit_events WHERE ${where} ORDER BY seq LIMIT $${String(values.length + 1)}`, [
      ...values, filter.limit,
    ]);
    return rows.map(toAuditRecord);
  }

  async getByHash(orgId: string, hash: string): Promise<AuditRecord | undefined> {
    const { rows } = await query(this.#pool, 'SELECT * FROM audit_events WHERE org_id = $1 AND hash = $2', [orgId, hash]);
    return rows[0] && toAuditRecord(rows[0]);
  }

  async chains(): Promise<string[]> {
    const { rows } = await query(this.#pool, 'SELECT DISTINCT org_id FROM audit_events ORDER BY org_id');
    return rows.map((r) => String(r.org_id));
  }
}
