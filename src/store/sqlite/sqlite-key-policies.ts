import { toKeyPolicy, type KeyPolicy, type KeyPolicyStore } from '../key-policy-types.ts';
import type { Row } from '../rows.ts';
import type { SqliteAccess } from './access-rules.ts';

/** key_policies on SQLite. */
export class SqliteKeyPolicies implements KeyPolicyStore {
  readonly #db: SqliteAccess;

  constructor(db: SqliteAccess) {
    this.#db = db;
  }

  getKeyPolicy(orgId: string): Promise<KeyPolicy | undefined> {
    const row = this.#db.stmt('SELECT * FROM key_policies WHERE org_id = ?').get(orgId) as Row | undefined;
    return Promise.resolve(row && toKeyPolicy(String(row.org_id), row.max_lifetime_days, row.wildcard, String(row.updated_at)));
  }

  setKeyPolicy(p: KeyPolicy): Promise<void> {
    return this.#db.write(() =>
      this.#db
        .stmt(
          `INSERT INTO key_policies (org_id, max_lifetime_days, wildcard, updated_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (org_id) DO UPDATE SET max_lifetime_days = excluded.max_lifetime_days, wildcard = excluded.wildcard, updated_at = excluded.updated_at`,
        )
        .run(p.orgId, p.maxLifetimeDays, p.wildcard, p.updatedAt),
    );
  }
}
