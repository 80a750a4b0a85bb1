import { type Row } from '../rows.ts';
import { toTrafficSettings, trafficDocument, type TrafficSettings, type TrafficSettingsStore } from '../traffic-types.ts';
import type { SqliteAccess } from './access-rules.ts';

/** traffic_settings on SQLite. */
export class SqliteTrafficSettings implements TrafficSettingsStore {
  readonly #db: SqliteAccess;

  constructor(db: SqliteAccess) {
    this.#db = db;
  }

  getTrafficSettings(orgId: string): Promise<TrafficSettings | undefined> {
    const row = this.#db.stmt('SELECT * FROM traffic_settings WHERE org_id = ?').get(orgId) as Row | undefined;
    return Promise.resolve(row && toTrafficSettings(String(row.org_id), row.settings, String(row.updated_at)));
  }

  setTrafficSettings(s: TrafficSettings): Promise<void> {
    return this.#db.write(() =>
      this.#db
        .stmt(
          `INSERT INTO traffic_settings (org_id, settings, updated_at) VALUES (?, ?, ?)
           ON CONFLICT (org_id) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at`,
        )
        .run(s.orgId, trafficDocument(s), s.updatedAt),
    );
  }

  listAllTrafficSettings(): Promise<TrafficSettings[]> {
    const rows = this.#db.stmt('SELECT * FROM traffic_settings ORDER BY org_id').all() as Row[];
    return Promise.resolve(rows.map((r) => toTrafficSettings(String(r.org_id), r.settings, String(r.updated_at))));
  }
}
