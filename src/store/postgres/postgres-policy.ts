import { toPolicySet } from '../policy-rows.ts';
import type { PolicySetRecord, PolicyStore } from '../policy-types.ts';
import type { PgQuery } from './access-rules.ts';

const CURRENT = 'SELECT DISTINCT ON (org_id) * FROM policy_sets ORDER BY org_id, version DESC';

/** policy_sets on PostgreSQL. */
export class PostgresPolicies implements PolicyStore {
  readonly #query: PgQuery;

  constructor(query: PgQuery) {
    this.#query = query;
  }

  async savePolicySet(orgId: string, text: string | null, createdBy: string, createdAt: string): Promise<PolicySetRecord> {
    // Two writers computing the same next version collide on the primary key (a DuplicateError): one of them wins.
    const { rows } = await this.#query(
      `INSERT INTO policy_sets (org_id, version, text, created_by, created_at)
       SELECT $1, COALESCE(MAX(version), 0) + 1, $2, $3, $4 FROM policy_sets WHERE org_id = $1 RETURNING *`,
      [orgId, text, createdBy, createdAt],
    );
    const row = rows[0];
    if (row === undefined) throw new Error('the policy set was not saved');
    return toPolicySet(row);
  }

  async currentPolicySet(orgId: string): Promise<PolicySetRecord | undefined> {
    const { rows } = await this.#query('SELECT * FROM policy_sets WHERE org_id = $1 ORDER BY version DESC LIMIT 1', [orgId]);
    return rows[0] && toPolicySet(rows[0]);
  }

  async getPolicySetVersion(orgId: string, version: number): Promise<PolicySetRecord | undefined> {
    const { rows } = await this.#query('SELECT * FROM policy_sets WHERE org_id = $1 AND version = $2', [orgId, version]);
    return rows[0] && toPolicySet(rows[0]);
  }

  async listPolicySetVersions(orgId: string): Promise<PolicySetRecord[]> {
    const { rows } = await this.#query('SELECT * FROM policy_sets WHERE org_id = $1 ORDER BY version DESC', [orgId]);
    return rows.map(toPolicySet);
  }

  async listCurrentPolicySets(): Promise<PolicySetRecord[]> {
    const { rows } = await this.#query(CURRENT);
    return rows.map(toPolicySet);
  }
}
