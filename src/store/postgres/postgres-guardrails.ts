import { toGuardrailSettings, type GuardrailSettings, type GuardrailSettingsStore } from '../guardrail-types.ts';
import type { Row } from '../rows.ts';
import type { PgQuery } from './access-rules.ts';

function toSettings(r: Row): GuardrailSettings {
  const at = r.updated_at;
  return toGuardrailSettings(String(r.org_id), r.settings, at instanceof Date ? at.toISOString() : String(at));
}

/** guardrail_settings on PostgreSQL. */
export class PostgresGuardrailSettings implements GuardrailSettingsStore {
  readonly #query: PgQuery;

  constructor(query: PgQuery) {
    this.#query = query;
  }

  async getGuardrailSettings(orgId: string): Promise<GuardrailSettings | undefined> {
    const { rows } = await this.#query('SELECT * FROM guardrail_settings WHERE org_id = $1', [orgId]);
    return rows[0] && toSettings(rows[0]);
  }

  async setGuardrailSettings(s: GuardrailSettings): Promise<void> {
    await this.#query(
      `INSERT INTO guardrail_settings (org_id, settings, updated_at) VALUES ($1, $2, $3)
       ON CONFLICT (org_id) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at`,
      [s.orgId, JSON.stringify(s.document), s.updatedAt],
    );
  }

  async listAllGuardrailSettings(): Promise<GuardrailSettings[]> {
    const { rows } = await this.#query('SELECT * FROM guardrail_settings ORDER BY org_id');
    return rows.map(toSettings);
  }
}
