import type { Row } from '../rows.ts';
import { scimGroupQuery, toScimGroups, toScimToken, toScimUser, userNameKey } from '../scim-rows.ts';
import type { ScimGroupRecord, ScimRoleMapping, ScimStore, ScimTokenRecord, ScimUserRecord } from '../scim-types.ts';
import type { SqliteRunner } from './sqlite-identity.ts';

/** The SQLite half of SCIM provisioning. `run` turns a synchronous statement into a promise, unique violations into DuplicateError. */
export class SqliteScim implements ScimStore {
  readonly #db: SqliteRunner;
  readonly #run: <T>(fn: () => T) => Promise<T>;

  constructor(db: SqliteRunner, run: <T>(fn: () => T) => Promise<T>) {
    this.#db = db;
    this.#run = run;
  }

  putToken(t: ScimTokenRecord): Promise<void> {
    return this.#run(() => {
      this.#db
        .stmt(
          `INSERT INTO scim_tokens (org_id, id, token_hash, display_prefix, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (org_id) DO UPDATE SET id = excluded.id, token_hash = excluded.token_hash, display_prefix = excluded.display_prefix,
             created_by = excluded.created_by, created_at = excluded.created_at`,
        )
        .run(t.orgId, t.id, t.tokenHash, t.displayPrefix, t.createdBy, t.createdAt);
    });
  }

  getToken(orgId: string): Promise<ScimTokenRecord | undefined> {
    return this.#run(() => {
      const row = this.#db.stmt('SELECT * FROM scim_tokens WHERE org_id = ?').get(orgId) as Row | undefined;
      return row && toScimToken(row);
    });
  }

  findTokenByHash(tokenHash: string): Promise<ScimTokenRecord | undefined> {
    return this.#run(() => {
      const row = this.#db.stmt('SELECT * FROM scim_tokens WHERE token_hash = ?').get(tokenHash) as Row | undefined;
      return row && toScimToken(row);
    });
  }

  deleteToken(orgId: string): Promise<boolean> {
    return this.#run(() => Number(this.#db.stmt('DELETE FROM scim_tokens WHERE org_id = ?').run(orgId).changes) === 1);
  }

  getRoleMappings(orgId: string): Promise<ScimRoleMapping[]> {
    return this.#run(() =>
      (this.#db.stmt('SELECT idp_group, role FROM scim_role_mappings WHERE org_id = ? ORDER BY idp_group').all(orgId) as Row[]).map((r) => ({
        idpGroup: String(r.idp_group),
        role: String(r.role) as ScimRoleMapping['role'],
      })),
    );
  }

  setRoleMappings(orgId: string, mappings: readonly ScimRoleMapping[]): Promise<void> {
    return this.#run(() => {
      this.#db.transaction(() => {
        this.#db.stmt('DELETE FROM scim_role_mappings WHERE org_id = ?').run(orgId);
        for (const m of mappings) this.#db.stmt('INSERT INTO scim_role_mappings (org_id, idp_group, role) VALUES (?, ?, ?)').run(orgId, m.idpGroup, m.role);
      });
    });
  }

  insertUser(u: ScimUserRecord): Promise<void> {
    return this.#run(() => {
      this.#db
        .stmt(
          `INSERT INTO scim_users (org_id, user_id, user_name, user_name_key, external_id, active, resource, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(u.orgId, u.userId, u.userName, userNameKey(u.userName), u.externalId, u.active ? 1 : 0, u.resource, u.createdAt, u.updatedAt);
    });
  }

  getUser(orgId: string, userId: string): Promise<ScimUserRecord | undefined> {
    return this.#run(() => {
      const row = this.#db.stmt('SELECT * FROM scim_users WHERE org_id = ? AND user_id = ?').get(orgId, userId) as Row | undefined;
      return row && toScimUser(row);
    });
  }

  listUsers(orgId: string): Promise<ScimUserRecord[]> {
    return this.#run(() => (this.#db.stmt('SELECT * FROM scim_users WHERE org_id = ? ORDER BY created_at, user_id').all(orgId) as Row[]).map(toScimUser));
  }

  updateUser(u: ScimUserRecord): Promise<boolean> {
    return this.#run(() => {
      const r = this.#db
        .stmt(
          `UPDATE scim_users SET user_name = ?, user_name_key = ?, external_id = ?, active = ?, resource = ?, updated_at = ?
           WHERE org_id = ? AND user_id = ?`,
        )
        .run(u.userName, userNameKey(u.userName), u.externalId, u.active ? 1 : 0, u.resource, u.updatedAt, u.orgId, u.userId);
      return Number(r.changes) === 1;
    });
  }

  deleteUser(orgId: string, userId: string): Promise<boolean> {
    return this.#run(() =>
      this.#db.transaction(() => {
        this.#db.stmt('DELETE FROM scim_group_members WHERE org_id = ? AND user_id = ?').run(orgId, userId);
        return Number(this.#db.stmt('DELETE FROM scim_users WHERE org_id = ? AND user_id = ?').run(orgId, userId).changes) === 1;
      }),
    );
  }

  insertGroup(g: ScimGroupRecord): Promise<void> {
    return this.#run(() => {
      this.#db.transaction(() => {
        this.#db
          .stmt('INSERT INTO scim_groups (id, org_id, display_name, external_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)')
          .run(g.id, g.orgId, g.displayName, g.externalId, g.createdAt, g.updatedAt);
        this.#insertMembers(g);
      });
    });
  }

  #insertMembers(g: ScimGroupRecord): void {
    for (const userId of new Set(g.members)) {
      this.#db.stmt('INSERT INTO scim_group_members (org_id, group_id, user_id) VALUES (?, ?, ?)').run(g.orgId, g.id, userId);
    }
  }

  getGroup(orgId: string, id: string): Promise<ScimGroupRecord | undefined> {
    return this.#run(() => toScimGroups(this.#db.stmt(scimGroupQuery('g.org_id = ? AND g.id = ?')).all(orgId, id) as Row[])[0]);
  }

  listGroups(orgId: string): Promise<ScimGroupRecord[]> {
    return this.#run(() => toScimGroups(this.#db.stmt(scimGroupQuery('g.org_id = ?')).all(orgId) as Row[]));
  }

  updateGroup(g: ScimGroupRecord): Promise<boolean> {
    return this.#run(() =>
      this.#db.transaction(() => {
        const r = this.#db
          .stmt('UPDATE scim_groups SET display_name = ?, external_id = ?, updated_at = ? WHERE org_id = ? AND id = ?')
          .run(g.displayName, g.externalId, g.updatedAt, g.orgId, g.id);
        if (Number(r.changes) !== 1) return false;
        this.#db.stmt('DELETE FROM scim_group_members WHERE group_id = ?').run(g.id);
        this.#insertMembers(g);
        return true;
      }),
    );
  }

  deleteGroup(orgId: string, id: string): Promise<boolean> {
    return this.#run(() =>
      this.#db.transaction(() => {
        this.#db.stmt('DELETE FROM scim_group_members WHERE org_id = ? AND group_id = ?').run(orgId, id);
        return Number(this.#db.stmt('DELETE FROM scim_groups WHERE org_id = ? AND id = ?').run(orgId, id).changes) === 1;
      }),
    );
  }

  groupsOfUser(orgId: string, userId: string): Promise<ScimGroupRecord[]> {
    return this.#run(() =>
      toScimGroups(
        this.#db
          .stmt(scimGroupQuery('g.org_id = ? AND g.id IN (SELECT group_id FROM scim_group_members WHERE org_id = ? AND user_id = ?)'))
          .all(orgId, orgId, userId) as Row[],
      ),
    );
  }
}
