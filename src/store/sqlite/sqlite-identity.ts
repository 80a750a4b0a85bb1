import type { StatementSync } from 'node:sqlite';
import { memberQuery, toMember, toUser, type Row } from '../rows.ts';
import type { KeyRole, MemberRecord, MembershipRecord, UserRecord } from '../types.ts';

/** What the identity tables need of the store: its statement cache and its transactions. */
export interface SqliteRunner {
  stmt(sql: string): StatementSync;
  transaction<T>(fn: () => T): T;
  write(fn: () => unknown): Promise<void>;
}

/** Users, memberships and the deletion of an organisation: the SQLite half of the Store's identity methods. */
export class SqliteIdentity {
  readonly #db: SqliteRunner;

  constructor(db: SqliteRunner) {
    this.#db = db;
  }

  renameOrganisation(id: string, name: string): boolean {
    return Number(this.#db.stmt('UPDATE organisations SET name = ? WHERE id = ? AND deleted_at IS NULL').run(name, id).changes) === 1;
  }

  deleteOrganisation(id: string, at: string): boolean {
    return this.#db.transaction(() => {
      const r = this.#db.stmt('UPDATE organisations SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL').run(at, id);
      if (Number(r.changes) !== 1) return false;
      this.#db.stmt('UPDATE api_keys SET revoked_at = ? WHERE org_id = ? AND revoked_at IS NULL').run(at, id);
      this.#db.stmt('DELETE FROM connectors WHERE org_id = ?').run(id);
      this.#db.stmt('DELETE FROM virtual_servers WHERE org_id = ?').run(id);
      this.#db.stmt('DELETE FROM memberships WHERE org_id = ?').run(id);
      return true;
    });
  }

  insertUser(u: UserRecord): Promise<void> {
    return this.#db.write(() => this.#db.stmt('INSERT INTO users (id, email, created_at) VALUES (?, ?, ?)').run(u.id, u.email, u.createdAt));
  }

  getUser(id: string): UserRecord | undefined {
    const row = this.#db.stmt('SELECT * FROM users WHERE id = ?').get(id) as Row | undefined;
    return row && toUser(row);
  }

  getUserByEmail(email: string): UserRecord | undefined {
    const row = this.#db.stmt('SELECT * FROM users WHERE email = ?').get(email) as Row | undefined;
    return row && toUser(row);
  }

  insertMembership(m: MembershipRecord): Promise<void> {
    return this.#db.write(() =>
      this.#db
        .stmt('INSERT INTO memberships (org_id, user_id, role, created_at, updated_at) VALUES (?, ?, ?, ?, ?)')
        .run(m.orgId, m.userId, m.role, m.createdAt, m.updatedAt),
    );
  }

  getMember(orgId: string, userId: string): MemberRecord | undefined {
    const row = this.#db.stmt(memberQuery('m.org_id = ? AND m.user_id = ?')).get(orgId, userId) as Row | undefined;
    return row && toMember(row);
  }

  listMembers(orgId: string): MemberRecord[] {
    return (this.#db.stmt(memberQuery('m.org_id = ? ORDER BY m.created_at, m.user_id')).all(orgId) as Row[]).map(toMember);
  }

  setMemberRole(orgId: string, userId: string, role: KeyRole, at: string): boolean {
    const r = this.#db.stmt('UPDATE memberships SET role = ?, updated_at = ? WHERE org_id = ? AND user_id = ?').run(role, at, orgId, userId);
    return Number(r.changes) === 1;
  }

  deleteMembership(orgId: string, userId: string, at: string): boolean {
    return this.#db.transaction(() => {
      const r = this.#db.stmt('DELETE FROM memberships WHERE org_id = ? AND user_id = ?').run(orgId, userId);
      if (Number(r.changes) !== 1) return false;
      this.#db.stmt('UPDATE api_keys SET revoked_at = ? WHERE org_id = ? AND user_id = ? AND revoked_at IS NULL').run(at, orgId, userId);
      return true;
    });
  }
}
