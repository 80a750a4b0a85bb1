import { DatabaseError } from 'pg';
import { GatehouseError } from '../../errors.ts';
import { toAuditSettings, toAuditTombstone, type AuditRetentionStore, type AuditSettings, type AuditTombstone } from '../audit-retention-types.ts';
import type { PgQuery } from './access-rules.ts';

/**
 * audit_settings and audit_tombstones on PostgreSQL. Records are removed only by audit_prune() (migrations), which
 * runs as its owner: the application role has no DELETE on audit_events, and the function checks the cut itself.
 */
export class PostgresAuditRetention implements AuditRetentionStore {
  readonly #query: PgQuery;

  constructor(query: PgQuery) {
    this.#query = query;
  }

  async getAuditSettings(orgId: string): Promise<AuditSettings | undefined> {
    const { rows } = await this.#query('SELECT * FROM audit_settings WHERE org_id = $1', [orgId]);
    return rows[0] && toAuditSettings(rows[0]);
  }

  async setAuditSettings(s: AuditSettings): Promise<void> {
    await this.#query(
      `INSERT INTO audit_settings (org_id, retention_days, viewer_export, updated_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (org_id) DO UPDATE SET retention_days = excluded.retention_days, viewer_export = excluded.viewer_export, updated_at = excluded.updated_at`,
      [s.orgId, s.retentionDays, s.viewerExport, s.updatedAt],
    );
  }

  async listRetentionSettings(): Promise<AuditSettings[]> {
    const { rows } = await this.#query('SELECT * FROM audit_settings WHERE retention_days IS NOT NULL ORDER BY org_id');
    return rows.map(toAuditSettings);
  }

  async listTombstones(orgId: string): Promise<AuditTombstone[]> {
    const { rows } = await this.#query('SELECT * FROM audit_tombstones WHERE org_id = $1 ORDER BY last_seq', [orgId]);
    return rows.map(toAuditTombstone);
  }

  async firstSeqSince(orgId: string, ts: string): Promise<number | undefined> {
    const { rows } = await this.#query('SELECT MIN(seq) AS seq FROM audit_events WHERE org_id = $1 AND ts >= $2', [orgId, ts]);
    const seq = rows[0]?.seq;
    return seq === null || seq === undefined ? undefined : Number(seq);
  }

  async prune(t: AuditTombstone): Promise<number> {
    try {
      const { rows } = await this.#query('SELECT audit_prune($1, $2, $3, $4, $5, $6, $7, $8, $9) AS removed', [
        t.orgId, t.firstSeq, t.lastSeq, t.headHash, t.count, t.ts, t.actor, t.keyId, t.signature,
      ]);
      return Number(rows[0]?.removed ?? 0);
    } catch (err) {
      // audit_prune()'s own refusals (RAISE EXCEPTION, SQLSTATE P0001) say why; any other failure stays a store failure.
      const cause = err instanceof Error ? err.cause : undefined;
      if (cause instanceof DatabaseError && cause.code === 'P0001' && cause.message.startsWith('audit_prune: ')) {
        throw new GatehouseError('conflict', `The database refused the cut: ${cause.message.slice('audit_prune: '.length)}`);
      }
      throw err;
    }
  }
}
