import { jsonOrNull, toVirtualServer, type Row } from '../rows.ts';
import type { VirtualServerPatch, VirtualServerRecord } from '../types.ts';
import type { SqliteRunner } from './sqlite-identity.ts';

/** Virtual servers: the SQLite half of the Store's virtual-server methods. */
export class SqliteVirtualServers {
  readonly #db: SqliteRunner;

  constructor(db: SqliteRunner) {
    this.#db = db;
  }

  create(v: VirtualServerRecord): Promise<void> {
    return this.#db.write(() =>
      this.#db
        .stmt(
          `INSERT INTO virtual_servers (id, org_id, name, description, tools, prompts, resources, unprefixed, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          v.id, v.orgId, v.name, v.description, JSON.stringify(v.tools), JSON.stringify(v.prompts), JSON.stringify(v.resources),
          v.unprefixed ? 1 : 0, v.createdAt, v.updatedAt,
        ),
    );
  }

  update(orgId: string, id: string, p: VirtualServerPatch): VirtualServerRecord | undefined {
    const row = this.#db
      .stmt(
        `UPDATE virtual_servers SET description = COALESCE(?, description), tools = COALESCE(?, tools), prompts = COALESCE(?, prompts),
           resources = COALESCE(?, resources), unprefixed = COALESCE(?, unprefixed), updated_at = ?
         WHERE org_id = ? AND id = ? RETURNING *`,
      )
      .get(
        p.description ?? null, jsonOrNull(p.tools), jsonOrNull(p.prompts), jsonOrNull(p.resources),
        p.unprefixed === undefined ? null : p.unprefixed ? 1 : 0, new Date().toISOString(), orgId, id,
      ) as Row | undefined;
    return row && toVirtualServer(row);
  }

  get(orgId: string, name: string): VirtualServerRecord | undefined {
    const row = this.#db.stmt('SELECT * FROM virtual_servers WHERE org_id = ? AND name = ?').get(orgId, name) as Row | undefined;
    return row && toVirtualServer(row);
  }

  list(orgId: string): VirtualServerRecord[] {
    return (this.#db.stmt('SELECT * FROM virtual_servers WHERE org_id = ? ORDER BY name').all(orgId) as Row[]).map(toVirtualServer);
  }

  listAll(): VirtualServerRecord[] {
    return (this.#db.stmt('SELECT * FROM virtual_servers ORDER BY org_id, name').all() as Row[]).map(toVirtualServer);
  }

  delete(orgId: string, id: string): boolean {
    return Number(this.#db.stmt('DELETE FROM virtual_servers WHERE org_id = ? AND id = ?').run(orgId, id).changes) === 1;
  }

  revision(): number {
    const row = this.#db.stmt("SELECT value FROM counters WHERE name = 'virtual_servers_revision'").get() as Row;
    return Number(row.value);
  }
}
