import type { PoolClient } from 'pg';
import { memberQuery, toMember, toUser } from '../rows.ts';
import type { KeyRole, MemberRecord, MembershipRecord, UserRecord } from '../types.ts';
import { query, type Queryable } from './query.ts';

type Transaction = <T>(fn: (client: PoolClient) => Promise<T>) => Promise<T>;

/** Users, memberships and the deletion of an organisation: the PostgreSQL half of the Store's identity methods. */
export class PostgresIdentity {
  readonly #pool: Queryable;
  readonly #transaction: Transaction;

  constructor(pool: Queryable, transaction: Transaction) {
    this.#pool = pool;
    this.#transaction = transaction;
  }

  async renameOrganisation(id: string, name: string): Promise<boolean> {
    const r = await query(this.#pool, 'UPDATE organisations SET name = $1 WHERE id = $2 AND deleted_at IS NULL', [name, id]);
    return r.rowCount === 1;
  }

  deleteOrganisation(id: string, at: string): Promise<boolean> {
    return this.#transaction(async (c) => {
      const r = await query(c, 'UPDATE organisations SET deleted_at = $1 WHERE id = $2 AND deleted_at IS NULL', [at, id]);
      if (r.rowCount !== 1) return false;
      await query(c, 'UPDATE api_keys SET revoked_at = $1 WHERE org_id = $2 AND revoked_at IS NULL', [at, id]);
      await query(c, 'DELETE FROM connectors WHERE org_id = $1', [id]);
      await query(c, 'DELETE FROM virtual_servers WHERE org_id = $1', [id]);
      await query(c, 'DELETE FROM memberships WHERE org_id = $1', [id]);
      return true;
    });
  }

  async insertUser(u: UserRecord): Promise<void> {
    await query(this.#pool, 'INSERT INTO users (id, email, created_at) VALUES ($1, $2, $3)', [u.id, u.email, u.createdAt]);
  }

  async getUser(id: string): Promise<UserRecord | undefined> {
    const { rows } = await query(this.#pool, 'SELECT * FROM users WHERE id = $1', [id]);
    return rows[0] && toUser(rows[0]);
  }

  async getUserByEmail(email: string): Promise<UserRecord | undefined> {
    const { rows } = await query(this.#pool, 'SELECT * FROM users WHERE email = $1', [email]);
    return rows[0] && toUser(rows[0]);
  }

  async insertMembership(m: MembershipRecord): Promise<void> {
    await query(this.#pool, 'INSERT INTO memberships (org_id, user_id, role, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)', [
      m.orgId, m.userId, m.role, m.createdAt, m.updatedAt,
    ]);
  }

  async getMember(orgId: string, userId: string): Promise<MemberRecord | undefined> {
    const { rows } = await query(this.#pool, memberQuery('m.org_id = $1 AND m.user_id = $2'), [orgId, userId]);
    return rows[0] && toMember(rows[0]);
  }

  async listMembers(orgId: string): Promise<MemberRecord[]> {
    const { rows } = await query(this.#pool, memberQuery('m.org_id = $1 ORDER BY m.created_at, m.user_id'), [orgId]);
    return rows.map(toMember);
  }

  async setMemberRole(orgId: string, userId: string, role: KeyRole, at: string): Promise<boolean> {
    const r = await query(this.#pool, 'UPDATE memberships SET role = $1, updated_at = $2 WHERE org_id = $3 AND user_id = $4', [role, at, orgId, userId]);
    return r.rowCount === 1;
  }

  deleteMembership(orgId: string, userId: string, at: string): Promise<boolean> {
    return this.#transaction(async (c) => {
      const r = await query(c, 'DELETE FROM memberships WHERE org_id = $1 AND user_id = $2', [orgId, userId]);
      if (r.rowCount !== 1) return false;
      await query(c, 'UPDATE api_keys SET revoked_at = $1 WHERE org_id = $2 AND user_id = $3 AND revoked_at IS NULL', [at, orgId, userId]);
      return true;
    });
  }
}
