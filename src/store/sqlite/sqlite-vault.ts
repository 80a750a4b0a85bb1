import type { Row } from '../rows.ts';
import { toDataKey, type DataKeyRecord, type KekState, type VaultStore } from '../vault-types.ts';
import type { SqliteRunner } from './sqlite-identity.ts';

const INSERT_KEY = 'INSERT INTO vault_data_keys (org_id, version, state, provider, kek_version, wrapped, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)';

function keyValues(k: DataKeyRecord): [string, number, string, string, number, string, string] {
  return [k.orgId, k.version, k.state, k.provider, k.kekVersion, k.wrapped, k.createdAt];
}

/** vault_state and vault_data_keys on SQLite. */
export class SqliteVault implements VaultStore {
  readonly #db: SqliteRunner;
  readonly #run: <T>(fn: () => T) => Promise<T>;

  constructor(db: SqliteRunner, run: <T>(fn: () => T) => Promise<T>) {
    this.#db = db;
    this.#run = run;
  }

  getKekState(): Promise<KekState | undefined> {
    return this.#run(() => {
      const r = this.#db.stmt('SELECT provider, kek_version FROM vault_state WHERE id = 1').get() as Row | undefined;
      return r === undefined ? undefined : { provider: String(r.provider), kekVersion: Number(r.kek_version) };
    });
  }

  setKekState(next: KekState, expected: number | undefined): Promise<boolean> {
    return this.#run(() => {
      const now = new Date().toISOString();
      const r =
        expected === undefined
          ? this.#db.stmt('INSERT INTO vault_state (id, provider, kek_version, updated_at) VALUES (1, ?, ?, ?) ON CONFLICT DO NOTHING').run(next.provider, next.kekVersion, now)
          : this.#db.stmt('UPDATE vault_state SET provider = ?, kek_version = ?, updated_at = ? WHERE id = 1 AND kek_version = ?').run(next.provider, next.kekVersion, now, expected);
      return Number(r.changes) === 1;
    });
  }

  listDataKeys(orgId?: string): Promise<DataKeyRecord[]> {
    return this.#run(() => {
      const rows = (orgId === undefined
        ? this.#db.stmt('SELECT * FROM vault_data_keys ORDER BY org_id, version').all()
        : this.#db.stmt('SELECT * FROM vault_data_keys WHERE org_id = ? ORDER BY version').all(orgId)) as Row[];
      return rows.map(toDataKey);
    });
  }

  getDataKey(orgId: string, version: number): Promise<DataKeyRecord | undefined> {
    return this.#run(() => {
      const r = this.#db.stmt('SELECT * FROM vault_data_keys WHERE org_id = ? AND version = ?').get(orgId, version) as Row | undefined;
      return r === undefined ? undefined : toDataKey(r);
    });
  }

  insertFirstDataKey(key: DataKeyRecord): Promise<boolean> {
    return this.#run(() =>
      this.#db.transaction(() => {
        if (this.#db.stmt('SELECT 1 FROM vault_data_keys WHERE org_id = ?').get(key.orgId) !== undefined) return false;
        this.#db.stmt(INSERT_KEY).run(...keyValues(key));
        return true;
      }),
    );
  }

  rotateDataKey(orgId: string, from: number, next: DataKeyRecord): Promise<boolean> {
    return this.#run(() =>
      this.#db.transaction(() => {
        const r = this.#db.stmt("UPDATE vault_data_keys SET state = 'retired' WHERE org_id = ? AND version = ? AND state = 'active'").run(orgId, from);
        if (Number(r.changes) !== 1) return false;
        this.#db.stmt(INSERT_KEY).run(...keyValues(next));
        return true;
      }),
    );
  }

  rewrapDataKey(orgId: string, version: number, expectedKekVersion: number, provider: string, kekVersion: number, wrapped: string): Promise<boolean> {
    return this.#run(
      () =>
        Number(
          this.#db
            .stmt('UPDATE vault_data_keys SET provider = ?, kek_version = ?, wrapped = ? WHERE org_id = ? AND version = ? AND kek_version = ?')
            .run(provider, kekVersion, wrapped, orgId, version, expectedKekVersion).changes,
        ) === 1,
    );
  }

  deleteRetiredDataKey(orgId: string, version: number): Promise<boolean> {
    return this.#run(() => Number(this.#db.stmt("DELETE FROM vault_data_keys WHERE org_id = ? AND version = ? AND state = 'retired'").run(orgId, version).changes) === 1);
  }

  listDestroyedKeks(provider: string): Promise<number[]> {
    return this.#run(() =>
      (this.#db.stmt('SELECT kek_version FROM vault_destroyed_keks WHERE provider = ? ORDER BY kek_version').all(provider) as Row[]).map((r) => Number(r.kek_version)),
    );
  }

  recordDestroyedKek(provider: string, version: number, at: string): Promise<boolean> {
    return this.#run(() =>
      this.#db.transaction(() => {
        const current = this.#db.stmt('SELECT 1 FROM vault_state WHERE id = 1 AND provider = ? AND kek_version = ?').get(provider, version);
        const used = this.#db.stmt('SELECT 1 FROM vault_data_keys WHERE provider = ? AND kek_version = ? LIMIT 1').get(provider, version);
        if (current !== undefined || used !== undefined) return false;
        const r = this.#db.stmt('INSERT INTO vault_destroyed_keks (provider, kek_version, destroyed_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING').run(provider, version, at);
        return Number(r.changes) === 1;
      }),
    );
  }

  resealConnector(orgId: string, id: string, expected: string, transport: string): Promise<boolean> {
    return this.#run(() => Number(this.#db.stmt('UPDATE connectors SET transport = ? WHERE org_id = ? AND id = ? AND transport = ?').run(transport, orgId, id, expected).changes) === 1);
  }
}
