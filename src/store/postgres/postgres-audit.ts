import type { PoolClient } from 'pg';
import { GatehouseError } from '../../errors.ts';
import { auditWhere, toAuditRecord, type Row } from '../rows.ts';
import type { AuditFilter, AuditRecord, AuditSealer } from '../types.ts';
import { query, type Queryable } from './query.ts';

type Transaction = <T>(fn: (client: PoolClient) => Promise<T>) => Promise<T>;

const APPEND_AUDIT = `SELECT seq, prev_hash, hash FROM audit_append(${Array.from({ length: 16 }, (_, i) => `$${String(i + 1)}`).join(', ')})`;

/** The audit chains: the PostgreSQL half of the Store's audit methods. */
export class PostgresAudit {
  readonly #pool: Queryable;
  readonly #transaction: Transaction;

  constructor(pool: Queryable, transaction: Transaction) {
    this.#pool = pool;
    this.#transaction = transaction;
  }

  /**
   * One statement: audit_append() (migrations) takes the chain's advisory lock, reads the head and links the record
   * itself, so appenders of one organisation in every process are serialised inside PostgreSQL and the gateway never
   * picks a record's seq or prev_hash. It runs as its owner, so an application role without INSERT on audit_events
   * can append and do nothing else. The sealer is then given the head the function linked to, and must arrive at the
   * same hash: the SQL and the TypeScript link rules are checked against each other on every append.
   */
  async append(orgId: string, seal: AuditSealer): Promise<AuditRecord> {
    const { draft, content } = seal;
    if (draft === undefined || content === undefined) throw new GatehouseError('internal', 'an audit record must be sealed as version 2');
    if (draft.orgId !== orgId) throw new GatehouseError('internal', 'an audit record was sealed for another chain');
    // The hash covers ts as written; TIMESTAMPTZ gives back the toISOString() form, so only that form round-trips.
    if (Number.isNaN(Date.parse(draft.ts)) || new Date(draft.ts).toISOString() !== draft.ts) {
      throw new GatehouseError('internal', 'an audit record time must be in the form Date.toISOString() produces');
    }
    const d = draft;
    const { rows } = await query(this.#pool, APPEND_AUDIT, [
      orgId, d.ts, d.actorKeyId, d.actorUser, d.clientIp, d.action, d.targetConnector, d.targetName, d.decision, d.reason,
      d.latencyMs, d.correlationId, d.args, d.detail, d.salt, content,
    ]);
    const row = rows[0];
    if (row === undefined) throw new GatehouseError('store_unavailable', 'audit_append returned no row');
    const seq = Number(row.seq);
    const record = seal(seq === 1 ? undefined : { seq: seq - 1, hash: String(row.prev_hash) });
    if (record.hash !== String(row.hash) || record.prevHash !== String(row.prev_hash)) {
      throw new GatehouseError('internal', 'the database linked an audit record by another rule than the gateway');
    }
    return record;
  }

  async list(orgId: string, afterSeq: number, limit: number): Promise<AuditRecord[]> {
    const rows = await this.#scoped(orgId, 'SELECT * FROM audit_events WHERE org_id = $1 AND seq > $2 ORDER BY seq LIMIT $3', [
      orgId, afterSeq, limit,
    ]);
    return rows.map(toAuditRecord);
  }

  async search(orgId: string, filter: AuditFilter): Promise<AuditRecord[]> {
    const { where, values } = auditWhere(orgId, filter, (n) => `$${String(n)}`);
    const rows = await this.#scoped(orgId, `SELECT * FROM audit_events WHERE ${where} ORDER BY seq LIMIT $${String(values.length + 1)}`, [
      ...values, filter.limit,
    ]);
    return rows.map(toAuditRecord);
  }

  async getByHash(orgId: string, hash: string): Promise<AuditRecord | undefined> {
    const rows = await this.#scoped(orgId, 'SELECT * FROM audit_events WHERE org_id = $1 AND hash = $2', [orgId, hash]);
    return rows[0] && toAuditRecord(rows[0]);
  }

  /**
   * A read of one organisation's records with gatehouse.org_id set for its transaction: under an application role,
   * row-level security then hides every other organisation's rows even if the WHERE clause were wrong.
   */
  #scoped(orgId: string, text: string, values: readonly unknown[]): Promise<Row[]> {
    return this.#transaction(async (c) => {
      await query(c, "SELECT set_config('gatehouse.org_id', $1, true)", [orgId]);
      return (await query(c, text, values)).rows;
    });
  }

  async chains(): Promise<string[]> {
    const { rows } = await query(this.#pool, 'SELECT DISTINCT org_id FROM audit_events ORDER BY org_id');
    return rows.map((r) => String(r.org_id));
  }
}
