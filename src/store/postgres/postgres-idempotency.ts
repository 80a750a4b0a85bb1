import { toIdempotencyState, type IdempotencyClaim, type IdempotencyRef, type IdempotencyState, type IdempotencyStore } from '../idempotency-types.ts';
import type { PgQuery } from './access-rules.ts';

const KEY = 'org_id = $1 AND principal = $2 AND plane = $3 AND idem_key = $4';

function keyOf(r: IdempotencyRef): [string, string, string, string] {
  return [r.orgId, r.principal, r.plane, r.key];
}

/**
 * idempotency_keys on PostgreSQL. Two replicas claiming the same key both try the insert; the primary key lets one
 * in and the other reads the winner's row. An expired row is deleted first, in the same statement.
 */
export class PostgresIdempotency implements IdempotencyStore {
  readonly #query: PgQuery;

  constructor(query: PgQuery) {
    this.#query = query;
  }

  async claimIdempotencyKey(c: IdempotencyClaim): Promise<IdempotencyState> {
    // A retry finds its row in one read; only a new (or expired) key writes.
    const live = await this.#query(`SELECT fingerprint, state, result FROM idempotency_keys WHERE ${KEY} AND expires_at > $5`, [...keyOf(c), c.now]);
    if (live.rows[0] !== undefined) return toIdempotencyState(live.rows[0]);
    await this.#query(`DELETE FROM idempotency_keys WHERE ${KEY} AND expires_at <= $5`, [...keyOf(c), c.now]);
    const inserted = await this.#query(
      `INSERT INTO idempotency_keys (org_id, principal, plane, idem_key, claim_id, fingerprint, state, result, created_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, 'pending', NULL, $7, $8) ON CONFLICT DO NOTHING`,
      [...keyOf(c), c.claimId, c.fingerprint, c.now, c.expiresAt],
    );
    if (inserted.rowCount === 1) return { state: 'claimed' };
    const { rows } = await this.#query(`SELECT fingerprint, state, result FROM idempotency_keys WHERE ${KEY}`, keyOf(c));
    return toIdempotencyState(rows[0]);
  }

  async completeIdempotencyKey(ref: IdempotencyRef, claimId: string, result: string, expiresAt: string): Promise<boolean> {
    const r = await this.#query(
      `UPDATE idempotency_keys SET state = 'done', result = $6, expires_at = $7 WHERE ${KEY} AND claim_id = $5 AND state = 'pending'`,
      [...keyOf(ref), claimId, result, expiresAt],
    );
    return r.rowCount === 1;
  }

  async releaseIdempotencyKey(ref: IdempotencyRef, claimId: string): Promise<void> {
    await this.#query(`DELETE FROM idempotency_keys WHERE ${KEY} AND claim_id = $5 AND state = 'pending'`, [...keyOf(ref), claimId]);
  }

  async purgeExpiredIdempotencyKeys(now: string): Promise<number> {
    const r = await this.#query('DELETE FROM idempotency_keys WHERE expires_at <= $1', [now]);
    return r.rowCount ?? 0;
  }
}
