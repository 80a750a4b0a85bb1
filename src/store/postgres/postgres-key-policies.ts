import { toKeyPolicy, type KeyPolicy, type KeyPolicyStore } from '../key-policy-types.ts';
import type { PgQuery } from './access-rules.ts';

/** key_policies on PostgreSQL. */
export class PostgresKeyPolicies implements KeyPolicyStore {
  readonly #query: PgQuery;

  constructor(query: PgQuery) {
    this.#query = query;
  }

  async getKeyPolicy(orgId: string): Promise<KeyPolicy | undefined> {
    const { rows } = await this.#query('SELECT * FROM key_policies WHERE org_id = $1', [orgId]);
    const r = rows[0];
    if (r === undefined) return undefined;
    const at = r.updated_at;
    return toKeyPolicy(String(r.org_id), r.max_lifetime_days, r.wildcard, at instanceof Date ? at.toISOString() : String(at));
  }

  async setKeyPolicy(p: KeyPolicy): Promise<void> {
    await this.#query(
      `INSERT INTO key_policies (org_id, max_lifetime_days, wildcard, updated_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (org_id) DO UPDATE SET max_lifetime_days = excluded.max_lifetime_days, wildcard = excluded.wildcard, updated_at = excluded.updated_at`,
      [p.orgId, p.maxLifetimeDays, p.wildcard, p.updatedAt],
    );
  }
}
