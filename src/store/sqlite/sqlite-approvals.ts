import { APPROVAL_COLUMNS, toApproval, type ApprovalRecord, type ApprovalStore } from '../approval-types.ts';
import type { Row } from '../rows.ts';
import type { SqliteRunner } from './sqlite-identity.ts';

/** approvals on SQLite. */
export class SqliteApprovals implements ApprovalStore {
  readonly #db: SqliteRunner;
  readonly #run: <T>(fn: () => T) => Promise<T>;

  constructor(db: SqliteRunner, run: <T>(fn: () => T) => Promise<T>) {
    this.#db = db;
    this.#run = run;
  }

  findApproval(orgId: string, digest: string, now: string): Promise<ApprovalRecord | undefined> {
    return this.#run(() => {
      const row = this.#db
        .stmt(`SELECT ${APPROVAL_COLUMNS} FROM approvals WHERE org_id = ? AND digest = ? AND status IN ('pending', 'approved') AND expires_at > ? ORDER BY requested_at DESC LIMIT 1`)
        .get(orgId, digest, now) as Row | undefined;
      return row === undefined ? undefined : toApproval(row);
    });
  }

  createApproval(a: ApprovalRecord): Promise<void> {
    return this.#run(() => {
      this.#db
        .stmt(`INSERT INTO approvals (${APPROVAL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(a.id, a.orgId, a.keyId, a.connector, a.tool, a.digest, a.argsPreview, a.status, a.requestedAt, a.expiresAt, a.decidedBy, a.decidedAt);
    });
  }

  getApproval(orgId: string, id: string): Promise<ApprovalRecord | undefined> {
    return this.#run(() => {
      const row = this.#db.stmt(`SELECT ${APPROVAL_COLUMNS} FROM approvals WHERE org_id = ? AND id = ?`).get(orgId, id) as Row | undefined;
      return row === undefined ? undefined : toApproval(row);
    });
  }

  listPendingApprovals(orgId: string, now: string): Promise<ApprovalRecord[]> {
    return this.#run(() =>
      (this.#db.stmt(`SELECT ${APPROVAL_COLUMNS} FROM approvals WHERE org_id = ? AND status = 'pending' AND expires_at > ? ORDER BY requested_at LIMIT 1000`).all(orgId, now) as Row[]).map(
        toApproval,
      ),
    );
  }

  decideApproval(orgId: string, id: string, decision: 'approved' | 'denied', by: string, now: string): Promise<boolean> {
    return this.#run(
      () =>
        Number(
          this.#db
            .stmt("UPDATE approvals SET status = ?, decided_by = ?, decided_at = ? WHERE org_id = ? AND id = ? AND status = 'pending' AND expires_at > ?")
            .run(decision, by, now, orgId, id, now).changes,
        ) === 1,
    );
  }

  consumeApproval(orgId: string, id: string, now: string): Promise<boolean> {
    return this.#run(
      () => Number(this.#db.stmt("UPDATE approvals SET status = 'used' WHERE org_id = ? AND id = ? AND status = 'approved' AND expires_at > ?").run(orgId, id, now).changes) === 1,
    );
  }
}
