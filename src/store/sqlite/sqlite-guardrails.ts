import { toGuardrailSettings, type GuardrailSettings, type GuardrailSettingsStore } from '../guardrail-types.ts';
import type { Row } from '../rows.ts';
import type { SqliteAccess } from './access-rules.ts';

/** guardrail_settings on SQLite. */
export class SqliteGuardrailSettings implements GuardrailSettingsStore {
  readonly #db: SqliteAccess;

  constructor(db: SqliteAccess) {
    this.#db = db;
  }

  getGuardrailSettings(orgId: string): Promise<GuardrailSettings | undefined> {
    const row = this.#db.stmt('SELECT * FROM guardrail_settings WHERE org_id = ?').get(orgId) as Row | undefined;
    return Promise.resolve(row && toGuardrailSettings(String(row.org_id), row.settings, String(row.updated_at)));
  }

  setGuardrailSettings(s: GuardrailSettings): Promise<void> {
    return this.#db.write(() =>
      this.#db
        .stmt(
          `INSERT INTO guardrail_settings (org_id, settings, updated_at) VALUES (?, ?, ?)
           ON CONFLICT (org_id) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at`,
        )
        .run(s.orgId, JSON.stringify(s.document), s.updatedAt),
    );
  }

  listAllGuardrailSettings(): Promise<GuardrailSettings[]> {
    const rows = this.#db.stmt('SELECT * FROM guardrail_settings ORDER BY org_id').all() as Row[];
    return Promise.resolve(rows.map((r) => toGuardrailSettings(String(r.org_id), r.settings, String(r.updated_at))));
  }
}
