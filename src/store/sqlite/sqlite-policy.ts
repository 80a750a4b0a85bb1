import { toPolicySet } from '../policy-rows.ts';
import type { Row } from '../rows.ts';
import type { PolicySetRecord, PolicyStore } from '../policy-types.ts';
import type { SqliteAccess } from './access-rules.ts';

const CURRENT = 'SELECT p.* FROM policy_sets p WHERE p.version = (SELECT MAX(q.version) FROM policy_sets q WHERE q.org_id = p.org_id)';

/** policy_sets on SQLite. */
export class SqlitePolicies implements PolicyStore {
  readonly #db: SqliteAccess;

  constructor(db: SqliteAccess) {
    this.#db = db;
  }

  async savePolicySet(orgId: string, text: string | null, createdBy: string, createdAt: string): Promise<PolicySetRecord> {
    let saved: Row | undefined;
    // One statement: the next version is computed and taken under the write lock, so two writers cannot share one.
    await this.#db.write(() => {
      saved = this.#db
        .stmt(
          `INSERT INTO policy_sets (org_id, version, text, created_by, created_at)
           SELECT ?, COALESCE(MAX(version), 0) + 1, ?, ?, ? FROM policy_sets WHERE org_id = ? RETURNING *`,
        )
        .get(orgId, text, createdBy, createdAt, orgId);
    });
    if (saved === undefined) throw new Error('the policy set was not saved');
    return toPolicySet(saved);
  }

  currentPolicySet(orgId: string): Promise<PolicySetRecord | undefined> {
    const row = this.#db.stmt('SELECT * FROM policy_sets WHERE org_id = ? ORDER BY version DESC LIMIT 1').get(orgId) as Row | undefined;
    return Promise.resolve(row && toPolicySet(row));
  }

  getPolicySetVersion(orgId: string, version: number): Promise<PolicySetRecord | undefined> {
    const row = this.#db.stmt('SELECT * FROM policy_sets WHERE org_id = ? AND version = ?').get(orgId, version) as Row | undefined;
    return Promise.resolve(row && toPolicySet(row));
  }

  listPolicySetVersions(orgId: string): Promise<PolicySetRecord[]> {
    const rows = this.#db.stmt('SELECT * FROM policy_sets WHERE org_id = ? ORDER BY version DESC').all(orgId) as Row[];
    return Promise.resolve(rows.map(toPolicySet));
  }

  listCurrentPolicySets(): Promise<PolicySetRecord[]> {
    return Promise.resolve((this.#db.stmt(CURRENT).all() as Row[]).map(toPolicySet));
  }
}
