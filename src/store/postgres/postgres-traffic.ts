import type { Row } from '../rows.ts';
import { toTrafficSettings, trafficDocument, type TrafficSettings, type TrafficSettingsStore } from '../traffic-types.ts';
import type { PgQuery } from './access-rules.ts';

function toSettings(r: Row): TrafficSettings {
  const at = r.updated_at;
  return toTrafficSettings(String(r.org_id), r.settings, at instanceof Date ? at.toISOString() : String(at));
}

/** traffic_settings on PostgreSQL. */
export class PostgresTrafficSettings implements TrafficSettingsStore {
  readonly #query: PgQuery;

  constructor(query: PgQuery) {
    this.#query = query;
  }

  async getTrafficSettings(orgId: string): Promise<TrafficSettings | undefined> {
    const { rows } = await this.#query('SELECT * FROM traffic_settings WHERE org_id = $1', [orgId]);
    return rows[0] && toSettings(rows[0]);
  }

  async setTrafficSettings(s: TrafficSettings): Promise<void> {
    await this.#query(
      `INSERT INTO traffic_settings (org_id, settings, updated_at) VALUES ($1, $2, $3)
       ON CONFLICT (org_id) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at`,
      [s.orgId, trafficDocument(s), s.updatedAt],
    );
  }

  async listAllTrafficSettings(): Promise<TrafficSettings[]> {
    const { rows } = await this.#query('SELECT * FROM traffic_settings ORDER BY org_id');
    return rows.map(toSettings);
  }
}
