import { jsonOrNull, toApiKey, type Row } from '../rows.ts';
import type { ApiKeyRecord } from '../types.ts';
import type { SqliteRunner } from './sqlite-identity.ts';

/** API keys: the SQLite half of the Store's key methods. */
export class SqliteKeys {
  readonly #db: SqliteRunner;

  constructor(db: SqliteRunner) {
    this.#db = db;
  }

  insert(k: ApiKeyRecord): void {
    this.#db
      .stmt(
        `INSERT INTO api_keys (id, org_id, user_id, name, key_hash, display_prefix, role, scopes, servers, cidrs, created_by, created_at, expires_at,
           revoked_at, rotation_days, rotation_due_reported, retires_at, policy_exempt)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        k.id, k.orgId, k.userId, k.name, k.keyHash, k.displayPrefix, k.role, JSON.stringify(k.scopes), jsonOrNull(k.servers), jsonOrNull(k.cidrs), k.createdBy,
        k.createdAt, k.expiresAt, k.revokedAt, k.rotationDays, k.rotationDueReported, k.retiresAt, k.policyExempt ? 1 : 0,
      );
  }

  findByHash(keyHash: string): ApiKeyRecord | undefined {
    const row = this.#db.stmt('SELECT * FROM api_keys WHERE key_hash = ?').get(keyHash) as Row | undefined;
    return row && toApiKey(row);
  }

  get(orgId: string, id: string): ApiKeyRecord | undefined {
    const row = this.#db.stmt('SELECT * FROM api_keys WHERE org_id = ? AND id = ?').get(orgId, id) as Row | undefined;
    return row && toApiKey(row);
  }

  list(orgId: string): ApiKeyRecord[] {
    return (this.#db.stmt('SELECT * FROM api_keys WHERE org_id = ? ORDER BY created_at, id').all(orgId) as Row[]).map(toApiKey);
  }

  revoke(orgId: string, id: string, at: string): boolean {
    const r = this.#db.stmt('UPDATE api_keys SET revoked_at = ? WHERE org_id = ? AND id = ? AND revoked_at IS NULL').run(at, orgId, id);
    return Number(r.changes) === 1;
  }

  rename(orgId: string, id: string, name: string): boolean {
    return Number(this.#db.stmt('UPDATE api_keys SET name = ? WHERE org_id = ? AND id = ?').run(name, orgId, id).changes) === 1;
  }

  /** Revokes the old key (live and not already retiring) and inserts its replacement, in one transaction. */
  rotate(orgId: string, oldId: string, replacement: ApiKeyRecord, at: string): boolean {
    return this.#db.transaction(() => {
      const r = this.#db.stmt('UPDATE api_keys SET revoked_at = ? WHERE org_id = ? AND id = ? AND revoked_at IS NULL AND retires_at IS NULL').run(at, orgId, oldId);
      if (Number(r.changes) !== 1) return false;
      this.insert(replacement);
      return true;
    });
  }

  /** Sets the old key's retirement (live and not already retiring) and inserts its replacement, in one transaction. */
  rotateWithOverlap(orgId: string, oldId: string, replacement: ApiKeyRecord, retiresAt: string): boolean {
    return this.#db.transaction(() => {
      const r = this.#db
        .stmt('UPDATE api_keys SET retires_at = ? WHERE org_id = ? AND id = ? AND revoked_at IS NULL AND retires_at IS NULL')
        .run(retiresAt, orgId, oldId);
      if (Number(r.changes) !== 1) return false;
      this.insert(replacement);
      return true;
    });
  }

  setRotation(orgId: string, id: string, days: number | null): boolean {
    const r = this.#db.stmt('UPDATE api_keys SET rotation_days = ? WHERE org_id = ? AND id = ? AND revoked_at IS NULL AND retires_at IS NULL').run(days, orgId, id);
    return Number(r.changes) === 1;
  }

  listScheduled(): ApiKeyRecord[] {
    return (
      this.#db.stmt('SELECT * FROM api_keys WHERE rotation_days IS NOT NULL AND revoked_at IS NULL AND retires_at IS NULL ORDER BY org_id, created_at, id').all() as Row[]
    ).map(toApiKey);
  }

  /** One statement: of two processes claiming the same due date, the second finds it already set and changes nothing. */
  claimDueReport(orgId: string, id: string, dueAt: string): boolean {
    const r = this.#db
      .stmt('UPDATE api_keys SET rotation_due_reported = ? WHERE org_id = ? AND id = ? AND (rotation_due_reported IS NULL OR rotation_due_reported < ?)')
      .run(dueAt, orgId, id, dueAt);
    return Number(r.changes) === 1;
  }
}
