import { jsonOrNull, toVirtualServer } from '../rows.ts';
import type { VirtualServerPatch, VirtualServerRecord } from '../types.ts';
import { query, type Queryable } from './query.ts';

/** Virtual servers: the PostgreSQL half of the Store's virtual-server methods. */
export class PostgresVirtualServers {
  readonly #pool: Queryable;

  constructor(pool: Queryable) {
    this.#pool = pool;
  }

  async create(v: VirtualServerRecord): Promise<void> {
    await query(
      this.#pool,
      `INSERT INTO virtual_servers (id, org_id, name, description, tools, prompts, resources, unprefixed, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [
        v.id, v.orgId, v.name, v.description, JSON.stringify(v.tools), JSON.stringify(v.prompts), JSON.stringify(v.resources), v.unprefixed,
        v.createdAt, v.updatedAt,
      ],
    );
  }

  async update(orgId: string, id: string, p: VirtualServerPatch): Promise<VirtualServerRecord | undefined> {
    const { rows } = await query(
      this.#pool,
      `UPDATE virtual_servers SET description = COALESCE($1, description), tools = COALESCE($2::jsonb, tools),
         prompts = COALESCE($3::jsonb, prompts), resources = COALESCE($4::jsonb, resources), unprefixed = COALESCE($5, unprefixed),
         updated_at = $6
       WHERE org_id = $7 AND id = $8 RETURNING *`,
      [
        p.description ?? null, jsonOrNull(p.tools), jsonOrNull(p.prompts), jsonOrNull(p.resources), p.unprefixed ?? null,
        new Date().toISOString(), orgId, id,
      ],
    );
    return rows[0] && toVirtualServer(rows[0]);
  }

  async get(orgId: string, name: string): Promise<VirtualServerRecord | undefined> {
    const { rows } = await query(this.#pool, 'SELECT * FROM virtual_servers WHERE org_id = $1 AND name = $2', [orgId, name]);
    return rows[0] && toVirtualServer(rows[0]);
  }

  async list(orgId: string): Promise<VirtualServerRecord[]> {
    const { rows } = await query(this.#pool, 'SELECT * FROM virtual_servers WHERE org_id = $1 ORDER BY name', [orgId]);
    return rows.map(toVirtualServer);
  }

  async listAll(): Promise<VirtualServerRecord[]> {
    const { rows } = await query(this.#pool, 'SELECT * FROM virtual_servers ORDER BY org_id, name');
    return rows.map(toVirtualServer);
  }

  async delete(orgId: string, id: string): Promise<boolean> {
    const r = await query(this.#pool, 'DELETE FROM virtual_servers WHERE org_id = $1 AND id = $2', [orgId, id]);
    return r.rowCount === 1;
  }

  async revision(): Promise<number> {
    const { rows } = await query(this.#pool, "SELECT value FROM counters WHERE name = 'virtual_servers_revision'");
    return Number(rows[0]?.value);
  }
}
