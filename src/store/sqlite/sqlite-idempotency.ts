import type { Row } from '../rows.ts';
import { toIdempotencyState, type IdempotencyClaim, type IdempotencyRef, type IdempotencyState, type IdempotencyStore } from '../idempotency-types.ts';
import type { SqliteRunner } from './sqlite-identity.ts';

const KEY = 'org_id = ? AND principal = ? AND plane = ? AND idem_key = ?';

function keyOf(r: IdempotencyRef): [string, string, string, string] {
  return [r.orgId, r.principal, r.plane, r.key];
}

/** idempotency_keys on SQLite. */
export class SqliteIdempotency implements IdempotencyStore {
  readonly #db: SqliteRunner;
  readonly #run: <T>(fn: () => T) => Promise<T>;

  constructor(db: SqliteRunner, run: <T>(fn: () => T) => Promise<T>) {
    this.#db = db;
    this.#run = run;
  }

  claimIdempotencyKey(c: IdempotencyClaim): Promise<IdempotencyState> {
    return this.#run(() => {
      // A retry finds its row without taking the write lock; only a new (or expired) key writes.
      const live = this.#db.stmt(`SELECT fingerprint, state, result FROM idempotency_keys WHERE ${KEY} AND expires_at > ?`).get(...keyOf(c), c.now) as Row | undefined;
      if (live !== undefined) return toIdempotencyState(live);
      return this.#db.transaction((): IdempotencyState => {
        this.#db.stmt(`DELETE FROM idempotency_keys WHERE ${KEY} AND expires_at <= ?`).run(...keyOf(c), c.now);
        const inserted = this.#db
          .stmt(
            `INSERT INTO idempotency_keys (org_id, principal, plane, idem_key, claim_id, fingerprint, state, result, created_at, expires_at)
             VALUES (?, ?, ?, ?, ?, ?, 'pending', NULL, ?, ?) ON CONFLICT DO NOTHING`,
          )
          .run(...keyOf(c), c.claimId, c.fingerprint, c.now, c.expiresAt);
        if (Number(inserted.changes) === 1) return { state: 'claimed' };
        const row = this.#db.stmt(`SELECT fingerprint, state, result FROM idempotency_keys WHERE ${KEY}`).get(...keyOf(c)) as Row | undefined;
        return toIdempotencyState(row);
      });
    });
  }

  completeIdempotencyKey(ref: IdempotencyRef, claimId: string, result: string, expiresAt: string): Promise<boolean> {
    return this.#run(
      () =>
        Number(
          this.#db
            .stmt(`UPDATE idempotency_keys SET state = 'done', result = ?, expires_at = ? WHERE ${KEY} AND claim_id = ? AND state = 'pending'`)
            .run(result, expiresAt, ...keyOf(ref), claimId).changes,
        ) === 1,
    );
  }

  releaseIdempotencyKey(ref: IdempotencyRef, claimId: string): Promise<void> {
    return this.#db.write(() => this.#db.stmt(`DELETE FROM idempotency_keys WHERE ${KEY} AND claim_id = ? AND state = 'pending'`).run(...keyOf(ref), claimId));
  }

  purgeExpiredIdempotencyKeys(now: string): Promise<number> {
    return this.#run(() => Number(this.#db.stmt('DELETE FROM idempotency_keys WHERE expires_at <= ?').run(now).changes));
  }
}
