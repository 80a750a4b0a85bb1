import { APPROVAL_COLUMNS, toApproval, type ApprovalRecord, type ApprovalStore } from '../approval-types.ts';
import type { PgQuery } from './access-rules.ts';

/** approvals on PostgreSQL: each change is one conditional UPDATE, so two replicas cannot both consume an approval. */
export class PostgresApprovals implements ApprovalStore {
  readonly #query: PgQuery;

  constructor(query: PgQuery) {
    this.#query = query;
  }

  async findApproval(orgId: string, digest: string, now: string): Promise<ApprovalRecord | undefined> {
    const { rows } = await this.#query(
      `SELECT ${APPROVAL_COLUMNS} FROM approvals WHERE org_id = $1 AND digest = $2 AND status IN ('pending', 'approved') AND expires_at > $3 ORDER BY requested_at DESC LIMIT 1`,
      [orgId, digest, now],
    );
    return rows[0] === undefined ? undefined : toApproval(rows[0]);
  }

  async createApproval(a: ApprovalRecord): Promise<void> {
    await this.#query(`INSERT INTO approvals (${APPROVAL_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`, [
      a.id,
      a.orgId,
      a.keyId,
      a.connector,
      a.tool,
      a.digest,
      a.argsPreview,
      a.status,
      a.requestedAt,
      a.expiresAt,
      a.decidedBy,
      a.decidedAt,
    ]);
  }

  async getApproval(orgId: string, id: string): Promise<ApprovalRecord | undefined> {
    const { rows } = await this.#query(`SELECT ${APPROVAL_COLUMNS} FROM approvals WHERE org_id = $1 AND id = $2`, [orgId, id]);
    return rows[0] === undefined ? undefined : toApproval(rows[0]);
  }

  async listPendingApprovals(orgId: string, now: string): Promise<ApprovalRecord[]> {
    const { rows } = await this.#query(
      `SELECT ${APPROVAL_COLUMNS} FROM approvals WHERE org_id = $1 AND status = 'pending' AND expires_at > $2 ORDER BY requested_at LIMIT 1000`,
      [orgId, now],
    );
    return rows.map(toApproval);
  }

  async decideApproval(orgId: string, id: string, decision: 'approved' | 'denied', by: string, now: string): Promise<boolean> {
    const r = await this.#query(
      "UPDATE approvals SET status = $1, decided_by = $2, decided_at = $3 WHERE org_id = $4 AND id = $5 AND status = 'pending' AND expires_at > $3",
      [decision, by, now, orgId, id],
    );
    return r.rowCount === 1;
  }

  async consumeApproval(orgId: string, id: string, now: string): Promise<boolean> {
    const r = await this.#query("UPDATE approvals SET status = 'used' WHERE org_id = $1 AND id = $2 AND status = 'approved' AND expires_at > $3", [orgId, id, now]);
    return r.rowCount === 1;
  }
}
