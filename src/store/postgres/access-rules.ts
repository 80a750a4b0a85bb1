import type { QueryResult } from 'pg';
import { jsonOrNull, toNetworkAllowlist, toOAuthIssuer, type Row } from '../rows.ts';
import type { NetworkAllowlist, NetworkAllowlistStore, NetworkPlane, OAuthIssuerRecord, OAuthIssuerStore } from '../types.ts';

/** The PostgreSQL store's pooled query, with its error translation (unique -> DuplicateError). */
export type PgQuery = (text: string, values?: readonly unknown[]) => Promise<QueryResult<Row>>;

/** oauth_issuers on PostgreSQL. */
export class PostgresOAuthIssuers implements OAuthIssuerStore {
  readonly #query: PgQuery;

  constructor(query: PgQuery) {
    this.#query = query;
  }

  async insertOAuthIssuer(i: OAuthIssuerRecord): Promise<void> {
    await this.#query(
      `INSERT INTO oauth_issuers (id, org_id, issuer, audience, algorithms, jwks_uri, scope_map, required_scopes, servers, require_at_jwt,
         created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
      [
        i.id, i.orgId, i.issuer, i.audience, JSON.stringify(i.algorithms), i.jwksUri, JSON.stringify(i.scopeMap), JSON.stringify(i.requiredScopes),
        jsonOrNull(i.servers), i.requireAtJwt, i.createdBy, i.createdAt,
      ],
    );
  }

  async findOAuthIssuer(issuer: string): Promise<OAuthIssuerRecord | undefined> {
    const { rows } = await this.#query('SELECT * FROM oauth_issuers WHERE issuer = $1', [issuer]);
    return rows[0] && toOAuthIssuer(rows[0]);
  }

  async listOAuthIssuers(orgId: string): Promise<OAuthIssuerRecord[]> {
    const { rows } = await this.#query('SELECT * FROM oauth_issuers WHERE org_id = $1 ORDER BY issuer', [orgId]);
    return rows.map(toOAuthIssuer);
  }

  async listAllOAuthIssuers(): Promise<OAuthIssuerRecord[]> {
    const { rows } = await this.#query('SELECT * FROM oauth_issuers ORDER BY issuer');
    return rows.map(toOAuthIssuer);
  }

  async deleteOAuthIssuer(orgId: string, id: string): Promise<boolean> {
    const r = await this.#query('DELETE FROM oauth_issuers WHERE org_id = $1 AND id = $2', [orgId, id]);
    return r.rowCount === 1;
  }
}

/** network_allowlists on PostgreSQL. */
export class PostgresNetworkAllowlists implements NetworkAllowlistStore {
  readonly #query: PgQuery;

  constructor(query: PgQuery) {
    this.#query = query;
  }

  async getNetworkAllowlist(orgId: string, plane: NetworkPlane): Promise<NetworkAllowlist | undefined> {
    const { rows } = await this.#query('SELECT * FROM network_allowlists WHERE org_id = $1 AND plane = $2', [orgId, plane]);
    return rows[0] && toNetworkAllowlist(rows[0]);
  }

  async setNetworkAllowlist(l: NetworkAllowlist): Promise<void> {
    await this.#query(
      `INSERT INTO network_allowlists (org_id, plane, cidrs, updated_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (org_id, plane) DO UPDATE SET cidrs = excluded.cidrs, updated_at = excluded.updated_at`,
      [l.orgId, l.plane, JSON.stringify(l.cidrs), l.updatedAt],
    );
  }

  async deleteNetworkAllowlist(orgId: string, plane: NetworkPlane): Promise<boolean> {
    const r = await this.#query('DELETE FROM network_allowlists WHERE org_id = $1 AND plane = $2', [orgId, plane]);
    return r.rowCount === 1;
  }

  async listAllNetworkAllowlists(): Promise<NetworkAllowlist[]> {
    const { rows } = await this.#query('SELECT * FROM network_allowlists ORDER BY org_id, plane');
    return rows.map(toNetworkAllowlist);
  }
}
