import type { Row } from '../rows.ts';
import { toUpstreamConnect, toUpstreamToken, type UpstreamConnectRecord, type UpstreamTokenRecord, type UpstreamTokenStore } from '../upstream-token-types.ts';
import type { SqliteAccess } from './access-rules.ts';

/** upstream_tokens on SQLite. */
export class SqliteUpstreamTokens implements UpstreamTokenStore {
  readonly #db: SqliteAccess;

  constructor(db: SqliteAccess) {
    this.#db = db;
  }

  getUpstreamToken(orgId: string, userId: string, connectorId: string): Promise<UpstreamTokenRecord | undefined> {
    const row = this.#db.stmt('SELECT * FROM upstream_tokens WHERE org_id = ? AND user_id = ? AND connector_id = ?').get(orgId, userId, connectorId) as Row | undefined;
    return Promise.resolve(row && toUpstreamToken(row));
  }

  putUpstreamToken(r: UpstreamTokenRecord): Promise<void> {
    return this.#db.write(() =>
      this.#db
        .stmt(
          `INSERT INTO upstream_tokens (org_id, user_id, connector_id, sealed, scope, expires_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (org_id, user_id, connector_id) DO UPDATE SET sealed = excluded.sealed, scope = excluded.scope,
             expires_at = excluded.expires_at, updated_at = excluded.updated_at`,
        )
        .run(r.orgId, r.userId, r.connectorId, r.sealed, r.scope, r.expiresAt, r.updatedAt),
    );
  }

  async deleteUpstreamToken(orgId: string, userId: string, connectorId: string): Promise<boolean> {
    let removed = false;
    await this.#db.write(() => {
      removed = Number(this.#db.stmt('DELETE FROM upstream_tokens WHERE org_id = ? AND user_id = ? AND connector_id = ?').run(orgId, userId, connectorId).changes) > 0;
    });
    return removed;
  }

  listUpstreamTokensOfUser(orgId: string, userId: string): Promise<UpstreamTokenRecord[]> {
    const rows = this.#db.stmt('SELECT * FROM upstream_tokens WHERE org_id = ? AND user_id = ? ORDER BY connector_id').all(orgId, userId) as Row[];
    return Promise.resolve(rows.map(toUpstreamToken));
  }

  latestUpstreamToken(orgId: string, connectorId: string): Promise<UpstreamTokenRecord | undefined> {
    const row = this.#db.stmt('SELECT * FROM upstream_tokens WHERE org_id = ? AND connector_id = ? ORDER BY updated_at DESC, user_id LIMIT 1').get(orgId, connectorId) as Row | undefined;
    return Promise.resolve(row && toUpstreamToken(row));
  }

  putUpstreamConnect(r: UpstreamConnectRecord): Promise<void> {
    return this.#db.write(() =>
      this.#db
        .stmt('INSERT INTO upstream_connects (state_hash, org_id, user_id, connector_id, sealed, expires_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(r.stateHash, r.orgId, r.userId, r.connectorId, r.sealed, r.expiresAt),
    );
  }

  async takeUpstreamConnect(stateHash: string, now: string): Promise<UpstreamConnectRecord | undefined> {
    let taken: UpstreamConnectRecord | undefined;
    await this.#db.write(() => {
      this.#db.stmt('DELETE FROM upstream_connects WHERE expires_at < ?').run(now);
      const row = this.#db.stmt('DELETE FROM upstream_connects WHERE state_hash = ? RETURNING *').get(stateHash) as Row | undefined;
      taken = row && toUpstreamConnect(row);
    });
    return taken;
  }
}
