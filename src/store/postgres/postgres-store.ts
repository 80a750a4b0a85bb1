import { DatabaseError, Pool, TypeOverrides, types, type PoolClient, type QueryResult } from 'pg';
import { GatehouseError } from '../../errors.ts';
import { AUDIT_COLUMNS, auditValues, jsonOrNull, toApiKey, toAuditRecord, toConnector, toOrganisation, toVirtualServer, type Row } from '../rows.ts';
import type { ApiKeyRecord, AuditRecord, AuditSealer, ConnectorRecord, Organisation, Store, VirtualServerPatch, VirtualServerRecord } from '../types.ts';
import { DuplicateError } from '../types.ts';
import { PostgresNetworkAllowlists, PostgresOAuthIssuers, type PgQuery } from './access-rules.ts';
import { POSTGRES_MIGRATIONS } from './migrations.ts';

export interface PostgresStoreOptions {
  /** A schema of its own (created by migrate() if missing), e.g. one per test run or per deployment. */
  readonly schema?: string;
  /** Connections in the pool; default 10. */
  readonly poolSize?: number;
}

type Queryable = Pick<PoolClient, 'query'>;

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const UNIQUE_VIOLATION = '23505';

const INSERT_AUDIT = `INSERT INTO audit_events (${AUDIT_COLUMNS.join(', ')})
  VALUES (${AUDIT_COLUMNS.map((_, i) => `$${String(i + 1)}`).join(', ')})`;

/**
 * The production store, shared by every replica and the CLI. Anything several writers must agree on is serialised
 * inside PostgreSQL (advisory transaction locks), never in this process, so replicas need no coordination of their own.
 */
export class PostgresStore implements Store {
  readonly dialect = 'postgres' as const;
  readonly #pool: Pool;
  readonly #schema: string | undefined;
  #closed = false;
  readonly #query: PgQuery = (text, values) => query(this.#pool, text, values);
  readonly oauthIssuers = new PostgresOAuthIssuers(this.#query);
  readonly networkAllowlists = new PostgresNetworkAllowlists(this.#query);

  constructor(url: string, options: PostgresStoreOptions = {}) {
    const { schema, poolSize = 10 } = options;
    if (schema !== undefined && !SCHEMA_NAME.test(schema)) {
      throw new GatehouseError('config_invalid', 'the PostgreSQL schema name must match [a-z_][a-z0-9_]{0,62}');
    }
    if (!Number.isSafeInteger(poolSize) || poolSize < 1) {
      throw new GatehouseError('config_invalid', 'the PostgreSQL pool size must be a positive integer');
    }
    // JSON documents come back as text, as they do from SQLite, so rows.ts parses both the same way.
    const typeParsers = new TypeOverrides();
    typeParsers.setTypeParser(types.builtins.JSONB, (text: string) => text);
    this.#schema = schema;
    this.#pool = new Pool({
      connectionString: url,
      max: poolSize,
      connectionTimeoutMillis: 10_000,
      types: typeParsers,
      ...(schema === undefined ? {} : { options: `-c search_path=${schema}` }),
    });
    // An idle connection that dies (server restart, network) is dropped by the pool and replaced on the next query;
    // without a listener the 'error' event would end the process.
    this.#pool.on('error', () => undefined);
  }

  async migrate(): Promise<void> {
    for (;;) {
      const done = await this.#transaction(async (c) => {
        await query(c, 'SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`gatehouse:migrate:${this.#schema ?? ''}`]);
        if (this.#schema !== undefined) {
          // Checked first: CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege even when the schema exists.
          const found = await query(c, 'SELECT 1 FROM pg_namespace WHERE nspname = $1', [this.#schema]);
          if (found.rowCount === 0) await query(c, `CREATE SCHEMA ${this.#schema}`);
        }
        await query(c, 'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL)');
        const current = await query(c, 'SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations');
        const version = Number(current.rows[0]?.v);
        const migration = POSTGRES_MIGRATIONS[version];
        if (migration === undefined) return true;
        await query(c, migration);
        await query(c, 'INSERT INTO schema_migrations (version, applied_at) VALUES ($1, now())', [version + 1]);
        return false;
      });
      if (done) return;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end();
  }

  async createOrganisation(org: Organisation): Promise<void> {
    await query(this.#pool, 'INSERT INTO organisations (id, slug, name, created_at) VALUES ($1, $2, $3, $4)', [
      org.id, org.slug, org.name, org.createdAt,
    ]);
  }

  async getOrganisationBySlug(slug: string): Promise<Organisation | undefined> {
    const { rows } = await query(this.#pool, 'SELECT * FROM organisations WHERE slug = $1', [slug]);
    return rows[0] && toOrganisation(rows[0]);
  }

  async listOrganisations(): Promise<Organisation[]> {
    const { rows } = await query(this.#pool, 'SELECT * FROM organisations ORDER BY created_at, id');
    return rows.map(toOrganisation);
  }

  async insertApiKey(k: ApiKeyRecord): Promise<void> {
    await query(
      this.#pool,
      `INSERT INTO api_keys (id, org_id, name, key_hash, display_prefix, role, scopes, servers, cidrs, created_by, created_at, expires_at, revoked_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
      [
        k.id, k.orgId, k.name, k.keyHash, k.displayPrefix, k.role, JSON.stringify(k.scopes), jsonOrNull(k.servers), jsonOrNull(k.cidrs), k.createdBy,
        k.createdAt, k.expiresAt, k.revokedAt,
      ],
    );
  }

  async findApiKeyByHash(keyHash: string): Promise<ApiKeyRecord | undefined> {
    const { rows } = await query(this.#pool, 'SELECT * FROM api_keys WHERE key_hash = $1', [keyHash]);
    return rows[0] && toApiKey(rows[0]);
  }

  async getApiKey(orgId: string, id: string): Promise<ApiKeyRecord | undefined> {
    const { rows } = await query(this.#pool, 'SELECT * FROM api_keys WHERE org_id = $1 AND id = $2', [orgId, id]);
    return rows[0] && toApiKey(rows[0]);
  }

  async listApiKeys(orgId: string): Promise<ApiKeyRecord[]> {
    const { rows } = await query(this.#pool, 'SELECT * FROM api_keys WHERE org_id = $1 ORDER BY created_at, id', [orgId]);
    return rows.map(toApiKey);
  }

  async revokeApiKey(orgId: string, id: string, at: string): Promise<boolean> {
    const r = await query(this.#pool, 'UPDATE api_keys SET revoked_at = $1 WHERE org_id = $2 AND id = $3 AND revoked_at IS NULL', [at, orgId, id]);
    return r.rowCount === 1;
  }

  async insertConnector(c: ConnectorRecord): Promise<void> {
    await query(this.#pool, 'INSERT INTO connectors (id, org_id, name, transport, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)', [
      c.id, c.orgId, c.name, JSON.stringify(c.transport), c.createdAt, c.updatedAt,
    ]);
  }

  async getConnectorByName(orgId: string, name: string): Promise<ConnectorRecord | undefined> {
    const { rows } = await query(this.#pool, 'SELECT * FROM connectors WHERE org_id = $1 AND name = $2', [orgId, name]);
    return rows[0] && toConnector(rows[0]);
  }

  async listConnectors(orgId: string): Promise<ConnectorRecord[]> {
    const { rows } = await query(this.#pool, 'SELECT * FROM connectors WHERE org_id = $1 ORDER BY name', [orgId]);
    return rows.map(toConnector);
  }

  async listAllConnectors(): Promise<ConnectorRecord[]> {
    const { rows } = await query(this.#pool, 'SELECT * FROM connectors ORDER BY org_id, name');
    return rows.map(toConnector);
  }

  async deleteConnector(orgId: string, id: string): Promise<boolean> {
    const r = await query(this.#pool, 'DELETE FROM connectors WHERE org_id = $1 AND id = $2', [orgId, id]);
    return r.rowCount === 1;
  }

  async connectorsRevision(): Promise<number> {
    const { rows } = await query(this.#pool, "SELECT value FROM counters WHERE name = 'connectors_revision'");
    return Number(rows[0]?.value);
  }

  async createVirtualServer(v: VirtualServerRecord): Promise<void> {
    await query(
      this.#pool,
      `INSERT INTO virtual_servers (id, org_id, name, description, tools, prompts, resources, unprefixed, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [
        v.id, v.orgId, v.name, v.description, JSON.stringify(v.tools), JSON.stringify(v.prompts), JSON.stringify(v.resources), v.unprefixed,
        v.createdAt, v.updatedAt,
      ],
    );
  }

  async updateVirtualServer(orgId: string, id: string, p: VirtualServerPatch): Promise<VirtualServerRecord | undefined> {
    const { rows } = await query(
      this.#pool,
      `UPDATE virtual_servers SET description = COALESCE($1, description), tools = COALESCE($2::jsonb, tools),
         prompts = COALESCE($3::jsonb, prompts), resources = COALESCE($4::jsonb, resources), unprefixed = COALESCE($5, unprefixed),
         updated_at = $6
       WHERE org_id = $7 AND id = $8 RETURNING *`,
      [
        p.description ?? null, jsonOrNull(p.tools), jsonOrNull(p.prompts), jsonOrNull(p.resources), p.unprefixed ?? null,
        new Date().toISOString(), orgId, id,
      ],
    );
    return rows[0] && toVirtualServer(rows[0]);
  }

  async getVirtualServer(orgId: string, name: string): Promise<VirtualServerRecord | undefined> {
    const { rows } = await query(this.#pool, 'SELECT * FROM virtual_servers WHERE org_id = $1 AND name = $2', [orgId, name]);
    return rows[0] && toVirtualServer(rows[0]);
  }

  async listVirtualServers(orgId: string): Promise<VirtualServerRecord[]> {
    const { rows } = await query(this.#pool, 'SELECT * FROM virtual_servers WHERE org_id = $1 ORDER BY name', [orgId]);
    return rows.map(toVirtualServer);
  }

  async listAllVirtualServers(): Promise<VirtualServerRecord[]> {
    const { rows } = await query(this.#pool, 'SELECT * FROM virtual_servers ORDER BY org_id, name');
    return rows.map(toVirtualServer);
  }

  async deleteVirtualServer(orgId: string, id: string): Promise<boolean> {
    const r = await query(this.#pool, 'DELETE FROM virtual_servers WHERE org_id = $1 AND id = $2', [orgId, id]);
    return r.rowCount === 1;
  }

  async virtualServersRevision(): Promise<number> {
    const { rows } = await query(this.#pool, "SELECT value FROM counters WHERE name = 'virtual_servers_revision'");
    return Number(rows[0]?.value);
  }

  /**
   * The advisory lock serialises appenders of one organisation across every process, so the head read below is the
   * head the insert extends. READ COMMITTED is stated, not inherited: each statement takes a fresh snapshot, so the head
   * read after the lock sees the previous holder's commit (under REPEATABLE READ the snapshot would predate the lock).
   */
  async appendAudit(orgId: string, seal: AuditSealer): Promise<AuditRecord> {
    return this.#transaction(async (c) => {
      await query(c, 'SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`gatehouse:audit:${orgId}`]);
      const { rows } = await query(c, 'SELECT seq, hash FROM audit_events WHERE org_id = $1 ORDER BY seq DESC LIMIT 1', [orgId]);
      const head = rows[0];
      const record = seal(head === undefined ? undefined : { seq: Number(head.seq), hash: String(head.hash) });
      if (record.orgId !== orgId) throw new GatehouseError('internal', 'an audit record was sealed for another chain');
      // The hash covers ts as written; TIMESTAMPTZ gives back the toISOString() form, so only that form round-trips.
      if (Number.isNaN(Date.parse(record.ts)) || new Date(record.ts).toISOString() !== record.ts) {
        throw new GatehouseError('internal', 'an audit record time must be in the form Date.toISOString() produces');
      }
      await query(c, INSERT_AUDIT, auditValues(record));
      return record;
    });
  }

  async listAudit(orgId: string, afterSeq: number, limit: number): Promise<AuditRecord[]> {
    const { rows } = await query(this.#pool, 'SELECT * FROM audit_events WHERE org_id = $1 AND seq > $2 ORDER BY seq LIMIT $3', [
      orgId, afterSeq, limit,
    ]);
    return rows.map(toAuditRecord);
  }

  async listAuditChains(): Promise<string[]> {
    const { rows } = await query(this.#pool, 'SELECT DISTINCT org_id FROM audit_events ORDER BY org_id');
    return rows.map((r) => String(r.org_id));
  }

  async #transaction<T>(fn: (client: PoolClient) => Promise<T>): Promise<T> {
    let client: PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (err) {
      throw translate(err);
    }
    let broken = false;
    try {
      await query(client, 'BEGIN ISOLATION LEVEL READ COMMITTED');
      const result = await fn(client);
      await query(client, 'COMMIT');
      return result;
    } catch (err) {
      // A connection that cannot roll back is in an unknown state: destroy it rather than return it to the pool.
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw err;
    } finally {
      client.release(broken);
    }
  }
}

async function query(on: Queryable, text: string, values: readonly unknown[] = []): Promise<QueryResult<Row>> {
  try {
    return await on.query<Row>(text, [...values]);
  } catch (err) {
    throw translate(err);
  }
}

/** Unique violations become DuplicateError; anything else is a store failure. The driver's error stays as `cause`. */
function translate(err: unknown): Error {
  if (err instanceof DatabaseError && err.code === UNIQUE_VIOLATION) return new DuplicateError('already exists', { cause: err });
  return new GatehouseError('store_unavailable', 'the database request failed', { cause: err });
}
