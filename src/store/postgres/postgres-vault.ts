import { toDataKey, type DataKeyRecord, type KekState, type VaultStore } from '../vault-types.ts';
import type { PgQuery } from './access-rules.ts';

function keyValues(k: DataKeyRecord): [string, number, string, string, number, string, string] {
  return [k.orgId, k.version, k.state, k.provider, k.kekVersion, k.wrapped, k.createdAt];
}

/**
 * vault_state and vault_data_keys on PostgreSQL. Every change is one statement guarded by what it expects, so two
 * replicas (or a CLI beside a server) racing for the same row see one win and the other told so.
 */
export class PostgresVault implements VaultStore {
  readonly #query: PgQuery;

  constructor(query: PgQuery) {
    this.#query = query;
  }

  async getKekState(): Promise<KekState | undefined> {
    const { rows } = await this.#query('SELECT provider, kek_version FROM vault_state WHERE id = 1');
    const r = rows[0];
    return r === undefined ? undefined : { provider: String(r.provider), kekVersion: Number(r.kek_version) };
  }

  async setKekState(next: KekState, expected: number | undefined): Promise<boolean> {
    const r =
      expected === undefined
        ? await this.#query('INSERT INTO vault_state (id, provider, kek_version, updated_at) VALUES (1, $1, $2, now()) ON CONFLICT DO NOTHING', [next.provider, next.kekVersion])
        : await this.#query('UPDATE vault_state SET provider = $1, kek_version = $2, updated_at = now() WHERE id = 1 AND kek_version = $3', [next.provider, next.kekVersion, expected]);
    return r.rowCount === 1;
  }

  async listDataKeys(orgId?: string): Promise<DataKeyRecord[]> {
    const { rows } =
      orgId === undefined
        ? await this.#query('SELECT * FROM vault_data_keys ORDER BY org_id, version')
        : await this.#query('SELECT * FROM vault_data_keys WHERE org_id = $1 ORDER BY version', [orgId]);
    return rows.map(toDataKey);
  }

  async getDataKey(orgId: string, version: number): Promise<DataKeyRecord | undefined> {
    const { rows } = await this.#query('SELECT * FROM vault_data_keys WHERE org_id = $1 AND version = $2', [orgId, version]);
    return rows[0] === undefined ? undefined : toDataKey(rows[0]);
  }

  async insertFirstDataKey(key: DataKeyRecord): Promise<boolean> {
    // The partial unique index (one active key per organisation) makes the first insert win.
    const r = await this.#query(
      `INSERT INTO vault_data_keys (org_id, version, state, provider, kek_version, wrapped, created_at)
       SELECT $1, $2, $3, $4, $5, $6, $7 WHERE NOT EXISTS (SELECT 1 FROM vault_data_keys WHERE org_id = $1) ON CONFLICT DO NOTHING`,
      keyValues(key),
    );
    return r.rowCount === 1;
  }

  async rotateDataKey(orgId: string, from: number, next: DataKeyRecord): Promise<boolean> {
    const r = await this.#query(
      `WITH retired AS (UPDATE vault_data_keys SET state = 'retired' WHERE org_id = $1 AND version = $8 AND state = 'active' RETURNING org_id)
       INSERT INTO vault_data_keys (org_id, version, state, provider, kek_version, wrapped, created_at)
       SELECT $1, $2, $3, $4, $5, $6, $7 FROM retired`,
      [...keyValues(next), from],
    );
    return r.rowCount === 1;
  }

  async rewrapDataKey(orgId: string, version: number, expectedKekVersion: number, provider: string, kekVersion: number, wrapped: string): Promise<boolean> {
    const r = await this.#query('UPDATE vault_data_keys SET provider = $1, kek_version = $2, wrapped = $3 WHERE org_id = $4 AND version = $5 AND kek_version = $6', [
      provider,
      kekVersion,
      wrapped,
      orgId,
      version,
      expectedKekVersion,
    ]);
    return r.rowCount === 1;
  }

  async deleteRetiredDataKey(orgId: string, version: number): Promise<boolean> {
    const r = await this.#query("DELETE FROM vault_data_keys WHERE org_id = $1 AND version = $2 AND state = 'retired'", [orgId, version]);
    return r.rowCount === 1;
  }

  async listDestroyedKeks(provider: string): Promise<number[]> {
    const { rows } = await this.#query('SELECT kek_version FROM vault_destroyed_keks WHERE provider = $1 ORDER BY kek_version', [provider]);
    return rows.map((r) => Number(r.kek_version));
  }

  /**
   * One statement: the version is recorded only if it is not current and no data key is wrapped under it. A data key
   * re-wrapped or created meanwhile is under the current version, never under an older one.
   */
  async recordDestroyedKek(provider: string, version: number, at: string): Promise<boolean> {
    const r = await this.#query(
      `INSERT INTO vault_destroyed_keks (provider, kek_version, destroyed_at)
       SELECT $1::text, $2::integer, $3::timestamptz
       WHERE NOT EXISTS (SELECT 1 FROM vault_state WHERE id = 1 AND provider = $1 AND kek_version = $2)
         AND NOT EXISTS (SELECT 1 FROM vault_data_keys WHERE provider = $1 AND kek_version = $2)
       ON CONFLICT DO NOTHING`,
      [provider, version, at],
    );
    return r.rowCount === 1;
  }

  async resealConnector(orgId: string, id: string, expected: string, transport: string): Promise<boolean> {
    const r = await this.#query('UPDATE connectors SET transport = $1::jsonb WHERE org_id = $2 AND id = $3 AND transport = $4::jsonb', [transport, orgId, id, expected]);
    return r.rowCount === 1;
  }
}
