import type { PinningStore, PinSettings, ToolPinRecord } from '../pinning-types.ts';
import { TOOL_PIN_COLUMNS, TOOL_PIN_UPDATE, toPinSettings, toToolPin, toolPinValues } from '../pinning-rows.ts';
import type { PgQuery } from './access-rules.ts';

/** tool_pins and pin_settings on PostgreSQL. */
export class PostgresPinning implements PinningStore {
  readonly #query: PgQuery;

  constructor(query: PgQuery) {
    this.#query = query;
  }

  async putToolPin(p: ToolPinRecord): Promise<void> {
    await this.#query(
      `INSERT INTO tool_pins (${TOOL_PIN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
       ON CONFLICT (org_id, connector_id, tool) DO UPDATE SET ${TOOL_PIN_UPDATE}`,
      toolPinValues(p),
    );
  }

  async getToolPin(orgId: string, connectorId: string, tool: string): Promise<ToolPinRecord | undefined> {
    const { rows } = await this.#query('SELECT * FROM tool_pins WHERE org_id = $1 AND connector_id = $2 AND tool = $3', [orgId, connectorId, tool]);
    return rows[0] && toToolPin(rows[0]);
  }

  async listToolPins(orgId: string): Promise<ToolPinRecord[]> {
    const { rows } = await this.#query('SELECT * FROM tool_pins WHERE org_id = $1 ORDER BY connector_id, tool', [orgId]);
    return rows.map(toToolPin);
  }

  async listAllToolPins(): Promise<ToolPinRecord[]> {
    const { rows } = await this.#query('SELECT * FROM tool_pins ORDER BY org_id, connector_id, tool');
    return rows.map(toToolPin);
  }

  async putPinSettings(s: PinSettings): Promise<void> {
    await this.#query(
      `INSERT INTO pin_settings (org_id, connector_id, read_only, auto_approve, updated_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (org_id, connector_id) DO UPDATE SET read_only = excluded.read_only, auto_approve = excluded.auto_approve, updated_at = excluded.updated_at`,
      [s.orgId, s.connectorId, s.readOnly, s.autoApproveFirstSync, s.updatedAt],
    );
  }

  async getPinSettings(orgId: string, connectorId: string): Promise<PinSettings | undefined> {
    const { rows } = await this.#query('SELECT * FROM pin_settings WHERE org_id = $1 AND connector_id = $2', [orgId, connectorId]);
    return rows[0] && toPinSettings(rows[0]);
  }

  async listAllPinSettings(): Promise<PinSettings[]> {
    const { rows } = await this.#query('SELECT * FROM pin_settings ORDER BY org_id, connector_id');
    return rows.map(toPinSettings);
  }

  async pinningRevision(): Promise<number> {
    const { rows } = await this.#query("SELECT value FROM counters WHERE name = 'pinning_revision'");
    return Number(rows[0]?.value);
  }
}
