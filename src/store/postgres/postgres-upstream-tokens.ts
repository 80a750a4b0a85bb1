import { toUpstreamConnect, toUpstreamToken, type UpstreamConnectRecord, type UpstreamTokenRecord, type UpstreamTokenStore } from '../upstream-token-types.ts';
import type { PgQuery } from './access-rules.ts';

/** upstream_tokens on PostgreSQL. */
export class PostgresUpstreamTokens implements UpstreamTokenStore {
  readonly #query: PgQuery;

  constructor(query: PgQuery) {
    this.#query = query;
  }

  async getUpstreamToken(orgId: string, userId: string, connectorId: string): Promise<UpstreamTokenRecord | undefined> {
    const { rows } = await this.#query('SELECT * FROM upstream_tokens WHERE org_id = $1 AND user_id = $2 AND connector_id = $3', [orgId, userId, connectorId]);
    return rows[0] === undefined ? undefined : toUpstreamToken(rows[0]);
  }

  async putUpstreamToken(r: UpstreamTokenRecord): Promise<void> {
    await this.#query(
      `INSERT INTO upstream_tokens (org_id, user_id, connector_id, sealed, scope, expires_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (org_id, user_id, connector_id) DO UPDATE SET sealed = excluded.sealed, scope = excluded.scope,
         expires_at = excluded.expires_at, updated_at = excluded.updated_at`,
      [r.orgId, r.userId, r.connectorId, r.sealed, r.scope, r.expiresAt, r.updatedAt],
    );
  }

  async deleteUpstreamToken(orgId: string, userId: string, connectorId: string): Promise<boolean> {
    const { rowCount } = await this.#query('DELETE FROM upstream_tokens WHERE org_id = $1 AND user_id = $2 AND connector_id = $3', [orgId, userId, connectorId]);
    return (rowCount ?? 0) > 0;
  }

  async listUpstreamTokensOfUser(orgId: string, userId: string): Promise<UpstreamTokenRecord[]> {
    const { rows } = await this.#query('SELECT * FROM upstream_tokens WHERE org_id = $1 AND user_id = $2 ORDER BY connector_id', [orgId, userId]);
    return rows.map(toUpstreamToken);
  }

  async latestUpstreamToken(orgId: string, connectorId: string): Promise<UpstreamTokenRecord | undefined> {
    const { rows } = await this.#query('SELECT * FROM upstream_tokens WHERE org_id = $1 AND connector_id = $2 ORDER BY updated_at DESC, user_id LIMIT 1', [orgId, connectorId]);
    return rows[0] === undefined ? undefined : toUpstreamToken(rows[0]);
  }

  async putUpstreamConnect(r: UpstreamConnectRecord): Promise<void> {
    await this.#query('INSERT INTO upstream_connects (state_hash, org_id, user_id, connector_id, sealed, expires_at) VALUES ($1, $2, $3, $4, $5, $6)', [
      r.stateHash, r.orgId, r.userId, r.connectorId, r.sealed, r.expiresAt,
    ]);
  }

  async takeUpstreamConnect(stateHash: string, now: string): Promise<UpstreamConnectRecord | undefined> {
    await this.#query('DELETE FROM upstream_connects WHERE expires_at < $1', [now]);
    const { rows } = await this.#query('DELETE FROM upstream_connects WHERE state_hash = $1 RETURNING *', [stateHash]);
    return rows[0] === undefined ? undefined : toUpstreamConnect(rows[0]);
  }
}
