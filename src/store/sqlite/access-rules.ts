import type { StatementSync } from 'node:sqlite';
import { jsonOrNull, toNetworkAllowlist, toOAuthIssuer, type Row } from '../rows.ts';
import type { NetworkAllowlist, NetworkAllowlistStore, NetworkPlane, OAuthIssuerRecord, OAuthIssuerStore } from '../types.ts';

/** What the SQLite store lends its table groups: its statement cache and its write wrapper (unique -> DuplicateError). */
export interface SqliteAccess {
  stmt(sql: string): StatementSync;
  write(fn: () => unknown): Promise<void>;
}

/** oauth_issuers on SQLite. */
export class SqliteOAuthIssuers implements OAuthIssuerStore {
  readonly #db: SqliteAccess;

  constructor(db: SqliteAccess) {
    this.#db = db;
  }

  insertOAuthIssuer(i: OAuthIssuerRecord): Promise<void> {
    return this.#db.write(() =>
      this.#db
        .stmt(
          `INSERT INTO oauth_issuers (id, org_id, issuer, audience, algorithms, jwks_uri, scope_map, required_scopes, servers, require_at_jwt,
             created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          i.id, i.orgId, i.issuer, i.audience, JSON.stringify(i.algorithms), i.jwksUri, JSON.stringify(i.scopeMap), JSON.stringify(i.requiredScopes),
          jsonOrNull(i.servers), i.requireAtJwt ? 1 : 0, i.createdBy, i.createdAt,
        ),
    );
  }

  findOAuthIssuer(issuer: string): Promise<OAuthIssuerRecord | undefined> {
    const row = this.#db.stmt('SELECT * FROM oauth_issuers WHERE issuer = ?').get(issuer) as Row | undefined;
    return Promise.resolve(row && toOAuthIssuer(row));
  }

  listOAuthIssuers(orgId: string): Promise<OAuthIssuerRecord[]> {
    const rows = this.#db.stmt('SELECT * FROM oauth_issuers WHERE org_id = ? ORDER BY issuer').all(orgId) as Row[];
    return Promise.resolve(rows.map(toOAuthIssuer));
  }

  listAllOAuthIssuers(): Promise<OAuthIssuerRecord[]> {
    return Promise.resolve((this.#db.stmt('SELECT * FROM oauth_issuers ORDER BY issuer').all() as Row[]).map(toOAuthIssuer));
  }

  deleteOAuthIssuer(orgId: string, id: string): Promise<boolean> {
    const r = this.#db.stmt('DELETE FROM oauth_issuers WHERE org_id = ? AND id = ?').run(orgId, id);
    return Promise.resolve(Number(r.changes) === 1);
  }
}

/** network_allowlists on SQLite. */
export class SqliteNetworkAllowlists implements NetworkAllowlistStore {
  readonly #db: SqliteAccess;

  constructor(db: SqliteAccess) {
    this.#db = db;
  }

  getNetworkAllowlist(orgId: string, plane: NetworkPlane): Promise<NetworkAllowlist | undefined> {
    const row = this.#db.stmt('SELECT * FROM network_allowlists WHERE org_id = ? AND plane = ?').get(orgId, plane) as Row | undefined;
    return Promise.resolve(row && toNetworkAllowlist(row));
  }

  setNetworkAllowlist(l: NetworkAllowlist): Promise<void> {
    return this.#db.write(() =>
      this.#db
        .stmt(
          `INSERT INTO network_allowlists (org_id, plane, cidrs, updated_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (org_id, plane) DO UPDATE SET cidrs = excluded.cidrs, updated_at = excluded.updated_at`,
        )
        .run(l.orgId, l.plane, JSON.stringify(l.cidrs), l.updatedAt),
    );
  }

  deleteNetworkAllowlist(orgId: string, plane: NetworkPlane): Promise<boolean> {
    const r = this.#db.stmt('DELETE FROM network_allowlists WHERE org_id = ? AND plane = ?').run(orgId, plane);
    return Promise.resolve(Number(r.changes) === 1);
  }

  listAllNetworkAllowlists(): Promise<NetworkAllowlist[]> {
    const rows = this.#db.stmt('SELECT * FROM network_allowlists ORDER BY org_id, plane').all() as Row[];
    return Promise.resolve(rows.map(toNetworkAllowlist));
  }
}
