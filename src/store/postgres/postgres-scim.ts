import type { PoolClient } from 'pg';
import { scimGroupQuery, toScimGroups, toScimToken, toScimUser, userNameKey } from '../scim-rows.ts';
import type { ScimGroupRecord, ScimRoleMapping, ScimStore, ScimTokenRecord, ScimUserRecord } from '../scim-types.ts';
import { query, type Queryable } from './query.ts';

type Transaction = <T>(fn: (client: PoolClient) => Promise<T>) => Promise<T>;

/** The PostgreSQL half of SCIM provisioning. */
export class PostgresScim implements ScimStore {
  readonly #pool: Queryable;
  readonly #transaction: Transaction;

  constructor(pool: Queryable, transaction: Transaction) {
    this.#pool = pool;
    this.#transaction = transaction;
  }

  async putToken(t: ScimTokenRecord): Promise<void> {
    await query(
      this.#pool,
      `INSERT INTO scim_tokens (org_id, id, token_hash, display_prefix, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (org_id) DO UPDATE SET id = excluded.id, token_hash = excluded.token_hash, display_prefix = excluded.display_prefix,
         created_by = excluded.created_by, created_at = excluded.created_at`,
      [t.orgId, t.id, t.tokenHash, t.displayPrefix, t.createdBy, t.createdAt],
    );
  }

  async getToken(orgId: string): Promise<ScimTokenRecord | undefined> {
    const { rows } = await query(this.#pool, 'SELECT * FROM scim_tokens WHERE org_id = $1', [orgId]);
    return rows[0] && toScimToken(rows[0]);
  }

  async findTokenByHash(tokenHash: string): Promise<ScimTokenRecord | undefined> {
    const { rows } = await query(this.#pool, 'SELECT * FROM scim_tokens WHERE token_hash = $1', [tokenHash]);
    return rows[0] && toScimToken(rows[0]);
  }

  async deleteToken(orgId: string): Promise<boolean> {
    return (await query(this.#pool, 'DELETE FROM scim_tokens WHERE org_id = $1', [orgId])).rowCount === 1;
  }

  async getRoleMappings(orgId: string): Promise<ScimRoleMapping[]> {
    const { rows } = await query(this.#pool, 'SELECT idp_group, role FROM scim_role_mappings WHERE org_id = $1 ORDER BY idp_group', [orgId]);
    return rows.map((r) => ({ idpGroup: String(r.idp_group), role: String(r.role) as ScimRoleMapping['role'] }));
  }

  setRoleMappings(orgId: string, mappings: readonly ScimRoleMapping[]): Promise<void> {
    return this.#transaction(async (c) => {
      await query(c, 'DELETE FROM scim_role_mappings WHERE org_id = $1', [orgId]);
      for (const m of mappings) await query(c, 'INSERT INTO scim_role_mappings (org_id, idp_group, role) VALUES ($1, $2, $3)', [orgId, m.idpGroup, m.role]);
    });
  }

  async insertUser(u: ScimUserRecord): Promise<void> {
    await query(
      this.#pool,
      `INSERT INTO scim_users (org_id, user_id, user_name, user_name_key, external_id, active, resource, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [u.orgId, u.userId, u.userName, userNameKey(u.userName), u.externalId, u.active, u.resource, u.createdAt, u.updatedAt],
    );
  }

  async getUser(orgId: string, userId: string): Promise<ScimUserRecord | undefined> {
    const { rows } = await query(this.#pool, 'SELECT * FROM scim_users WHERE org_id = $1 AND user_id = $2', [orgId, userId]);
    return rows[0] && toScimUser(rows[0]);
  }

  async listUsers(orgId: string): Promise<ScimUserRecord[]> {
    const { rows } = await query(this.#pool, 'SELECT * FROM scim_users WHERE org_id = $1 ORDER BY created_at, user_id', [orgId]);
    return rows.map(toScimUser);
  }

  async updateUser(u: ScimUserRecord): Promise<boolean> {
    const r = await query(
      this.#pool,
      `UPDATE scim_users SET user_name = $1, user_name_key = $2, external_id = $3, active = $4, resource = $5, updated_at = $6
       WHERE org_id = $7 AND user_id = $8`,
      [u.userName, userNameKey(u.userName), u.externalId, u.active, u.resource, u.updatedAt, u.orgId, u.userId],
    );
    return r.rowCount === 1;
  }

  deleteUser(orgId: string, userId: string): Promise<boolean> {
    return this.#transaction(async (c) => {
      await query(c, 'DELETE FROM scim_group_members WHERE org_id = $1 AND user_id = $2', [orgId, userId]);
      return (await query(c, 'DELETE FROM scim_users WHERE org_id = $1 AND user_id = $2', [orgId, userId])).rowCount === 1;
    });
  }

  insertGroup(g: ScimGroupRecord): Promise<void> {
    return this.#transaction(async (c) => {
      await query(c, 'INSERT INTO scim_groups (id, org_id, display_name, external_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)', [
        g.id, g.orgId, g.displayName, g.externalId, g.createdAt, g.updatedAt,
      ]);
      await insertMembers(c, g);
    });
  }

  async getGroup(orgId: string, id: string): Promise<ScimGroupRecord | undefined> {
    const { rows } = await query(this.#pool, scimGroupQuery('g.org_id = $1 AND g.id = $2'), [orgId, id]);
    return toScimGroups(rows)[0];
  }

  async listGroups(orgId: string): Promise<ScimGroupRecord[]> {
    return toScimGroups((await query(this.#pool, scimGroupQuery('g.org_id = $1'), [orgId])).rows);
  }

  updateGroup(g: ScimGroupRecord): Promise<boolean> {
    return this.#transaction(async (c) => {
      const r = await query(c, 'UPDATE scim_groups SET display_name = $1, external_id = $2, updated_at = $3 WHERE org_id = $4 AND id = $5', [
        g.displayName, g.externalId, g.updatedAt, g.orgId, g.id,
      ]);
      if (r.rowCount !== 1) return false;
      await query(c, 'DELETE FROM scim_group_members WHERE group_id = $1', [g.id]);
      await insertMembers(c, g);
      return true;
    });
  }

  deleteGroup(orgId: string, id: string): Promise<boolean> {
    return this.#transaction(async (c) => {
      await query(c, 'DELETE FROM scim_group_members WHERE org_id = $1 AND group_id = $2', [orgId, id]);
      return (await query(c, 'DELETE FROM scim_groups WHERE org_id = $1 AND id = $2', [orgId, id])).rowCount === 1;
    });
  }

  async groupsOfUser(orgId: string, userId: string): Promise<ScimGroupRecord[]> {
    const where = 'g.org_id = $1 AND g.id IN (SELECT group_id FROM scim_group_members WHERE org_id = $1 AND user_id = $2)';
    return toScimGroups((await query(this.#pool, scimGroupQuery(where), [orgId, userId])).rows);
  }
}

async function insertMembers(c: PoolClient, g: ScimGroupRecord): Promise<void> {
  for (const userId of new Set(g.members)) {
    await query(c, 'INSERT INTO scim_group_members (org_id, group_id, user_id) VALUES ($1, $2, $3)', [g.orgId, g.id, userId]);
  }
}
