import type { PoolClient } from 'pg';
import { jsonOrNull, toApiKey } from '../rows.ts';
import type { ApiKeyRecord } from '../types.ts';
import { query, type Queryable } from './query.ts';

type Transaction = <T>(fn: (client: PoolClient) => Promise<T>) => Promise<T>;

/** API keys: the PostgreSQL half of the Store's key methods. */
export class PostgresKeys {
  readonly #pool: Queryable;
  readonly #transaction: Transaction;

  constructor(pool: Queryable, transaction: Transaction) {
    this.#pool = pool;
    this.#transaction = transaction;
  }

  async insert(k: ApiKeyRecord, on: Queryable = this.#pool): Promise<void> {
    await query(
      on,
      `INSERT INTO api_keys (id, org_id, user_id, name, key_hash, display_prefix, role, scopes, servers, cidrs, created_by, created_at, expires_at,
         revoked_at, rotation_days, rotation_due_reported, retires_at, policy_exempt)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
      [
        k.id, k.orgId, k.userId, k.name, k.keyHash, k.displayPrefix, k.role, JSON.stringify(k.scopes), jsonOrNull(k.servers), jsonOrNull(k.cidrs), k.createdBy,
        k.createdAt, k.expiresAt, k.revokedAt, k.rotationDays, k.rotationDueReported, k.retiresAt, k.policyExempt,
      ],
    );
  }

  async findByHash(keyHash: string): Promise<ApiKeyRecord | undefined> {
    const { rows } = await query(this.#pool, 'SELECT * FROM api_keys WHERE key_hash = $1', [keyHash]);
    return rows[0] && toApiKey(rows[0]);
  }

  async get(orgId: string, id: string): Promise<ApiKeyRecord | undefined> {
    const { rows } = await query(this.#pool, 'SELECT * FROM api_keys WHERE org_id = $1 AND id = $2', [orgId, id]);
    return rows[0] && toApiKey(rows[0]);
  }

  async list(orgId: string): Promise<ApiKeyRecord[]> {
    const { rows } = await query(this.#pool, 'SELECT * FROM api_keys WHERE org_id = $1 ORDER BY created_at, id', [orgId]);
    return rows.map(toApiKey);
  }

  async revoke(orgId: string, id: string, at: string, on: Queryable = this.#pool): Promise<boolean> {
    const r = await query(on, 'UPDATE api_keys SET revoked_at = $1 WHERE org_id = $2 AND id = $3 AND revoked_at IS NULL', [at, orgId, id]);
    return r.rowCount === 1;
  }

  async rename(orgId: string, id: string, name: string): Promise<boolean> {
    const r = await query(this.#pool, 'UPDATE api_keys SET name = $1 WHERE org_id = $2 AND id = $3', [name, orgId, id]);
    return r.rowCount === 1;
  }

  /** Revokes the old key (live and not already retiring) and inserts its replacement, in one transaction. */
  rotate(orgId: string, oldId: string, replacement: ApiKeyRecord, at: string): Promise<boolean> {
    return this.#transaction(async (c) => {
      const r = await query(c, 'UPDATE api_keys SET revoked_at = $1 WHERE org_id = $2 AND id = $3 AND revoked_at IS NULL AND retires_at IS NULL', [at, orgId, oldId]);
      if (r.rowCount !== 1) return false;
      await this.insert(replacement, c);
      return true;
    });
  }

  /** Sets the old key's retirement (live and not already retiring) and inserts its replacement, in one transaction. */
  rotateWithOverlap(orgId: string, oldId: string, replacement: ApiKeyRecord, retiresAt: string): Promise<boolean> {
    return this.#transaction(async (c) => {
      const r = await query(c, 'UPDATE api_keys SET retires_at = $1 WHERE org_id = $2 AND id = $3 AND revoked_at IS NULL AND retires_at IS NULL', [retiresAt, orgId, oldId]);
      if (r.rowCount !== 1) return false;
      await this.insert(replacement, c);
      return true;
    });
  }

  async setRotation(orgId: string, id: string, days: number | null): Promise<boolean> {
    const r = await query(this.#pool, 'UPDATE api_keys SET rotation_days = $1 WHERE org_id = $2 AND id = $3 AND revoked_at IS NULL AND retires_at IS NULL', [days, orgId, id]);
    return r.rowCount === 1;
  }

  async listScheduled(): Promise<ApiKeyRecord[]> {
    const { rows } = await query(
      this.#pool,
      'SELECT * FROM api_keys WHERE rotation_days IS NOT NULL AND revoked_at IS NULL AND retires_at IS NULL ORDER BY org_id, created_at, id',
    );
    return rows.map(toApiKey);
  }

  /**
   * One statement: a second process claiming the same due date waits for the first's row lock, then re-reads the row
   * (READ COMMITTED), finds the date already set and changes nothing.
   */
  async claimDueReport(orgId: string, id: string, dueAt: string): Promise<boolean> {
    const r = await query(
      this.#pool,
      'UPDATE api_keys SET rotation_due_reported = $1 WHERE org_id = $2 AND id = $3 AND (rotation_due_reported IS NULL OR rotation_due_reported < $1)',
      [dueAt, orgId, id],
    );
    return r.rowCount === 1;
  }
}
