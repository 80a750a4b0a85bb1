import { GatehouseError } from '../../errors.ts';
import { toAuditSettings, toAuditTombstone, type AuditRetentionStore, type AuditSettings, type AuditTombstone } from '../audit-retention-types.ts';
import type { Row } from '../rows.ts';
import type { SqliteRunner } from './sqlite-identity.ts';

/** audit_settings and audit_tombstones on SQLite; the schema's triggers refuse a cut that is not a whole old segment. */
export class SqliteAuditRetention implements AuditRetentionStore {
  readonly #db: SqliteRunner;

  constructor(db: SqliteRunner) {
    this.#db = db;
  }

  getAuditSettings(orgId: string): Promise<AuditSettings | undefined> {
    const row = this.#db.stmt('SELECT * FROM audit_settings WHERE org_id = ?').get(orgId) as Row | undefined;
    return Promise.resolve(row && toAuditSettings(row));
  }

  setAuditSettings(s: AuditSettings): Promise<void> {
    return this.#db.write(() =>
      this.#db
        .stmt(
          `INSERT INTO audit_settings (org_id, retention_days, viewer_export, updated_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (org_id) DO UPDATE SET retention_days = excluded.retention_days, viewer_export = excluded.viewer_export, updated_at = excluded.updated_at`,
        )
        .run(s.orgId, s.retentionDays, s.viewerExport ? 1 : 0, s.updatedAt),
    );
  }

  listRetentionSettings(): Promise<AuditSettings[]> {
    const rows = this.#db.stmt('SELECT * FROM audit_settings WHERE retention_days IS NOT NULL ORDER BY org_id').all() as Row[];
    return Promise.resolve(rows.map(toAuditSettings));
  }

  listTombstones(orgId: string): Promise<AuditTombstone[]> {
    const rows = this.#db.stmt('SELECT * FROM audit_tombstones WHERE org_id = ? ORDER BY last_seq').all(orgId) as Row[];
    return Promise.resolve(rows.map(toAuditTombstone));
  }

  firstSeqSince(orgId: string, ts: string): Promise<number | undefined> {
    const row = this.#db.stmt('SELECT MIN(seq) AS seq FROM audit_events WHERE org_id = ? AND ts >= ?').get(orgId, ts) as Row | undefined;
    return Promise.resolve(row?.seq === null || row?.seq === undefined ? undefined : Number(row.seq));
  }

  prune(t: AuditTombstone): Promise<number> {
    try {
      return Promise.resolve(
        this.#db.transaction(() => {
          this.#db
            .stmt('INSERT INTO audit_tombstones (org_id, first_seq, last_seq, head_hash, count, ts, actor, key_id, signature) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
            .run(t.orgId, t.firstSeq, t.lastSeq, t.headHash, t.count, t.ts, t.actor, t.keyId, t.signature);
          const { changes } = this.#db.stmt('DELETE FROM audit_events WHERE org_id = ? AND seq BETWEEN ? AND ?').run(t.orgId, t.firstSeq, t.lastSeq);
          return Number(changes);
        }),
      );
    } catch (err) {
      // The tombstone trigger's refusal says why; any other failure is passed on as it is.
      const message = err instanceof Error ? err.message : String(err);
      if (message.includes('audit tombstone refused: ')) {
        return Promise.reject(new GatehouseError('conflict', `The database refused the cut: ${message.slice(message.indexOf('refused: ') + 'refused: '.length)}`));
      }
      return Promise.reject(err instanceof Error ? err : new Error(message));
    }
  }
}
