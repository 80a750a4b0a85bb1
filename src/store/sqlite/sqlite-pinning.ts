import type { PinningStore, PinSettings, ToolPinRecord } from '../pinning-types.ts';
import { TOOL_PIN_COLUMNS, TOOL_PIN_UPDATE, toPinSettings, toToolPin, toolPinValues } from '../pinning-rows.ts';
import type { Row } from '../rows.ts';
import type { SqliteAccess } from './access-rules.ts';

/** tool_pins and pin_settings on SQLite. */
export class SqlitePinning implements PinningStore {
  readonly #db: SqliteAccess;

  constructor(db: SqliteAccess) {
    this.#db = db;
  }

  putToolPin(p: ToolPinRecord): Promise<void> {
    return this.#db.write(() =>
      this.#db
        .stmt(`INSERT INTO tool_pins (${TOOL_PIN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (org_id, connector_id, tool) DO UPDATE SET ${TOOL_PIN_UPDATE}`)
        .run(...toolPinValues(p)),
    );
  }

  getToolPin(orgId: string, connectorId: string, tool: string): Promise<ToolPinRecord | undefined> {
    const row = this.#db.stmt('SELECT * FROM tool_pins WHERE org_id = ? AND connector_id = ? AND tool = ?').get(orgId, connectorId, tool) as Row | undefined;
    return Promise.resolve(row && toToolPin(row));
  }

  listToolPins(orgId: string): Promise<ToolPinRecord[]> {
    const rows = this.#db.stmt('SELECT * FROM tool_pins WHERE org_id = ? ORDER BY connector_id, tool').all(orgId) as Row[];
    return Promise.resolve(rows.map(toToolPin));
  }

  listAllToolPins(): Promise<ToolPinRecord[]> {
    return Promise.resolve((this.#db.stmt('SELECT * FROM tool_pins ORDER BY org_id, connector_id, tool').all() as Row[]).map(toToolPin));
  }

  putPinSettings(s: PinSettings): Promise<void> {
    return this.#db.write(() =>
      this.#db
        .stmt(`INSERT INTO pin_settings (org_id, connector_id, read_only, auto_approve, updated_at) VALUES (?, ?, ?, ?, ?)
               ON CONFLICT (org_id, connector_id) DO UPDATE SET read_only = excluded.read_only, auto_approve = excluded.auto_approve, updated_at = excluded.updated_at`)
        .run(s.orgId, s.connectorId, s.readOnly ? 1 : 0, s.autoApproveFirstSync === null ? null : s.autoApproveFirstSync ? 1 : 0, s.updatedAt),
    );
  }

  getPinSettings(orgId: string, connectorId: string): Promise<PinSettings | undefined> {
    const row = this.#db.stmt('SELECT * FROM pin_settings WHERE org_id = ? AND connector_id = ?').get(orgId, connectorId) as Row | undefined;
    return Promise.resolve(row && toPinSettings(row));
  }

  listAllPinSettings(): Promise<PinSettings[]> {
    return Promise.resolve((this.#db.stmt('SELECT * FROM pin_settings ORDER BY org_id, connector_id').all() as Row[]).map(toPinSettings));
  }

  pinningRevision(): Promise<number> {
    const row = this.#db.stmt("SELECT value FROM counters WHERE name = 'pinning_revision'").get() as Row;
    return Promise.resolve(Number(row.value));
  }
}
