import type { PoolClient } from 'pg';
import { GatehouseError } from '../../errors.ts';
import { auditWhere, toAuditRecord, type Row } from '../rows.ts';
import type { AuditFilter, AuditRecord, AuditSealer } from '../types.ts';
import { query, type Queryable } from './query.ts';

type Transaction = <T>(fn: (client: PoolClient) => Promise<T>) => Promise<T>;

const APPEND_BATCH = `SELECT seq, prev_hash, hash FROM audit_append_batch(${Array.from({ length: 16 }, (_, i) => `$${String(i + 1)}`).join(', ')})`;
/** The most records one batch carries (audit_append_batch refuses more than 1000). */
const MAX_BATCH = 500;

interface Waiting {
  readonly seal: AuditSealer;
  readonly draft: NonNullable<AuditSealer['draft']>;
  readonly content: string;
  readonly resolve: (record: AuditRecord) => void;
  readonly reject: (err: Error) => void;
}

/** The audit chains: the PostgreSQL half of the Store's audit methods. */
export class PostgresAudit {
  readonly #pool: Queryable;
  readonly #transaction: Transaction;

  constructor(pool: Queryable, transaction: Transaction) {
    this.#pool = pool;
    this.#transaction = transaction;
  }

  /** Per chain: the records waiting for the next batch, and whether a batch of that chain is in flight. */
  readonly #waiting = new Map<string, Waiting[]>();
  readonly #inFlight = new Set<string>();

  /**
   * Group commit, as on SQLite: a record of a chain with no batch in flight goes at once, alone; those that arrive
   * while one is in flight go together in the next, one audit_append_batch() call (migrations) that takes the
   * chain's advisory lock once, reads the head and links each record itself, in order, in one commit. So appenders
   * of one organisation in every process are still serialised inside PostgreSQL and the gateway never picks a
   * record's seq or prev_hash; it runs as its owner, so an application role without INSERT on audit_events can
   * append and do nothing else. Each caller's promise settles after the commit that holds its record. Each sealer
   * is then given the head the function linked its record to, and must arrive at the same hash: the SQL and the
   * TypeScript link rules are checked against each other on every append.
   */
  append(orgId: string, seal: AuditSealer): Promise<AuditRecord> {
    const { draft, content } = seal;
    if (draft === undefined || content === undefined) return Promise.reject(new GatehouseError('internal', 'an audit record must be sealed as version 2'));
    if (draft.orgId !== orgId) return Promise.reject(new GatehouseError('internal', 'an audit record was sealed for another chain'));
    // The hash covers ts as written; TIMESTAMPTZ gives back the toISOString() form, so only that form round-trips.
    if (Number.isNaN(Date.parse(draft.ts)) || new Date(draft.ts).toISOString() !== draft.ts) {
      return Promise.reject(new GatehouseError('internal', 'an audit record time must be in the form Date.toISOString() produces'));
    }
    return new Promise((resolve, reject) => {
      const queue = this.#waiting.get(orgId);
      const entry = { seal, draft, content, resolve, reject };
      if (queue === undefined) this.#waiting.set(orgId, [entry]);
      else queue.push(entry);
      if (!this.#inFlight.has(orgId)) void this.#drain(orgId);
    });
  }

  async #drain(orgId: string): Promise<void> {
    this.#inFlight.add(orgId);
    try {
      for (;;) {
        const queue = this.#waiting.get(orgId) ?? [];
        if (queue.length === 0) break;
        const batch = queue.splice(0, MAX_BATCH);
        if (queue.length === 0) this.#waiting.delete(orgId);
        await this.#commit(orgId, batch);
      }
    } finally {
      this.#inFlight.delete(orgId);
    }
  }

  async #commit(orgId: string, batch: readonly Waiting[]): Promise<void> {
    const column = (pick: (d: Waiting['draft']) => unknown) => batch.map((w) => pick(w.draft));
    let rows: Row[];
    try {
      ({ rows } = await query(this.#pool, APPEND_BATCH, [
        orgId, column((d) => d.ts), column((d) => d.actorKeyId), column((d) => d.actorUser), column((d) => d.clientIp), column((d) => d.action),
        column((d) => d.targetConnector), column((d) => d.targetName), column((d) => d.decision), column((d) => d.reason), column((d) => d.latencyMs),
        column((d) => d.correlationId), column((d) => d.args), column((d) => d.detail), column((d) => d.salt), batch.map((w) => w.content),
      ]));
    } catch (err) {
      for (const w of batch) w.reject(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    batch.forEach((w, i) => {
      const row = rows[i];
      if (row === undefined) {
        w.reject(new GatehouseError('store_unavailable', 'audit_append_batch returned too few rows'));
        return;
      }
      const seq = Number(row.seq);
      const record = w.seal(seq === 1 ? undefined : { seq: seq - 1, hash: String(row.prev_hash) });
      if (record.hash !== String(row.hash) || record.prevHash !== String(row.prev_hash)) {
        w.reject(new GatehouseError('internal', 'the database linked an audit record by another rule than the gateway'));
        return;
      }
      w.resolve(record);
    });
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
