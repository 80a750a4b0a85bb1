import { Pool, TypeOverrides, types, type PoolClient } from 'pg';
import { GatehouseError } from '../../errors.ts';
import { toConnector, toOrganisation } from '../rows.ts';
import type {
  ApiKeyRecord,
  AuditFilter,
  AuditRecord,
  AuditSealer,
  ConnectorRecord,
  KeyRole,
  MemberRecord,
  MembershipRecord,
  Organisation,
  RotationDays,
  Store,
  UserRecord,
  VirtualServerPatch,
  VirtualServerRecord,
} from '../types.ts';
import { PostgresNetworkAllowlists, PostgresOAuthIssuers, type PgQuery } from './access-rules.ts';
import { PostgresTrafficSettings } from './postgres-traffic.ts';
import { PostgresGuardrailSettings } from './postgres-guardrails.ts';
import { PostgresKeyPolicies } from './postgres-key-policies.ts';
import { PostgresUpstreamTokens } from './postgres-upstream-tokens.ts';
import { POSTGRES_MIGRATIONS } from './migrations.ts';
import { PostgresPinning } from './postgres-pinning.ts';
import { PostgresAudit } from './postgres-audit.ts';
import { PostgresAuditAnchors } from './postgres-audit-anchors.ts';
import { PostgresAuditRetention } from './postgres-audit-retention.ts';
import { PostgresIdempotency } from './postgres-idempotency.ts';
import { PostgresVault } from './postgres-vault.ts';
import { PostgresIdentity } from './postgres-identity.ts';
import { PostgresKeys } from './postgres-keys.ts';
import { PostgresApprovals } from './postgres-approvals.ts';
import { PostgresSiem } from './postgres-siem.ts';
import { PostgresPolicies } from './postgres-policy.ts';
import { PostgresScim } from './postgres-scim.ts';
import { PostgresSignIn } from './postgres-sign-in.ts';
import { PostgresVirtualServers } from './postgres-virtual-servers.ts';
import { query, translate } from './query.ts';
import { checkRoleName, grantApplicationRole } from './roles.ts';

export interface PostgresStoreOptions {
  /** A schema of its own (created by migrate() if missing), e.g. one per test run or per deployment. */
  readonly schema?: string;
  /** Connections in the pool; default 10. */
  readonly poolSize?: number;
  /**
   * Set when this store is the migrator's (README "PostgreSQL roles"): after migrating, the role is granted what the
   * gateway needs and no more (roles.ts).
   */
  readonly applicationRole?: string;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * The production store, shared by every replica and the CLI. Anything several writers must agree on is serialised
 * inside PostgreSQL (advisory transaction locks), never in this process, so replicas need no coordination of their own.
 */
export class PostgresStore implements Store {
  readonly dialect = 'postgres' as const;
  readonly #pool: Pool;
  readonly #schema: string | undefined;
  readonly #applicationRole: string | undefined;
  readonly #identity: PostgresIdentity;
  readonly #virtualServers: PostgresVirtualServers;
  readonly #keys: PostgresKeys;
  readonly #audit: PostgresAudit;
  readonly signIn: PostgresSignIn;
  readonly scim: PostgresScim;
  #closed = false;
  readonly #query: PgQuery = (text, values) => query(this.#pool, text, values);
  readonly oauthIssuers = new PostgresOAuthIssuers(this.#query);
  readonly networkAllowlists = new PostgresNetworkAllowlists(this.#query);
  readonly trafficSettings = new PostgresTrafficSettings(this.#query);
  readonly guardrailSettings = new PostgresGuardrailSettings(this.#query);
  readonly keyPolicies = new PostgresKeyPolicies(this.#query);
  readonly upstreamTokens = new PostgresUpstreamTokens(this.#query);
  readonly idempotency = new PostgresIdempotency(this.#query);
  readonly vault = new PostgresVault(this.#query);
  readonly pinning = new PostgresPinning(this.#query);
  readonly policies = new PostgresPolicies(this.#query);
  readonly approvals = new PostgresApprovals(this.#query);
  readonly siem: PostgresSiem;
  readonly auditAnchors = new PostgresAuditAnchors(this.#query);
  readonly auditRetention = new PostgresAuditRetention(this.#query);

  constructor(url: string, options: PostgresStoreOptions = {}) {
    const { schema, poolSize = 10, applicationRole } = options;
    this.#applicationRole = applicationRole === undefined ? undefined : checkRoleName(applicationRole, 'application');
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
      // gatehouse.org_id '*': row-level security lets a connection see every organisation until a transaction
      // scopes it to one (set_config(..., true)); the scoped reads do, so a wrong WHERE clause there still leaks nothing.
      options: `${schema === undefined ? '' : `-c search_path=${schema} `}-c gatehouse.org_id=*`,
    });
    // An idle connection that dies (server restart, network) is dropped by the pool and replaced on the next query;
    // without a listener the 'error' event would end the process.
    this.#pool.on('error', () => undefined);
    this.#identity = new PostgresIdentity(this.#pool, (fn) => this.#transaction(fn));
    this.#virtualServers = new PostgresVirtualServers(this.#pool);
    this.#keys = new PostgresKeys(this.#pool, (fn) => this.#transaction(fn));
    this.#audit = new PostgresAudit(this.#pool, (fn) => this.#transaction(fn));
    this.siem = new PostgresSiem(this.#query, (fn) => this.#transaction(fn));
    this.signIn = new PostgresSignIn(this.#pool, (fn) => this.#transaction(fn));
    this.scim = new PostgresScim(this.#pool, (fn) => this.#transaction(fn));
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
      if (done) break;
    }
    const app = this.#applicationRole;
    if (app !== undefined) {
      await this.#transaction(async (c) => {
        const current = await query(c, 'SELECT current_schema() AS s');
        await grantApplicationRole(c, String(current.rows[0]?.s), app);
      });
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

  async getOrganisation(id: string): Promise<Organisation | undefined> {
    const { rows } = await query(this.#pool, 'SELECT * FROM organisations WHERE id = $1', [id]);
    return rows[0] && toOrganisation(rows[0]);
  }

  async getOrganisationBySlug(slug: string): Promise<Organisation | undefined> {
    const { rows } = await query(this.#pool, 'SELECT * FROM organisations WHERE slug = $1', [slug]);
    return rows[0] && toOrganisation(rows[0]);
  }

  async listOrganisations(): Promise<Organisation[]> {
    const { rows } = await query(this.#pool, 'SELECT * FROM organisations ORDER BY created_at, id');
    return rows.map(toOrganisation);
  }

  renameOrganisation(id: string, name: string): Promise<boolean> {
    return this.#identity.renameOrganisation(id, name);
  }

  deleteOrganisation(id: string, at: string): Promise<boolean> {
    return this.#identity.deleteOrganisation(id, at);
  }

  insertUser(user: UserRecord): Promise<void> {
    return this.#identity.insertUser(user);
  }

  getUser(id: string): Promise<UserRecord | undefined> {
    return this.#identity.getUser(id);
  }

  getUserByEmail(email: string): Promise<UserRecord | undefined> {
    return this.#identity.getUserByEmail(email);
  }

  insertMembership(m: MembershipRecord): Promise<void> {
    return this.#identity.insertMembership(m);
  }

  getMember(orgId: string, userId: string): Promise<MemberRecord | undefined> {
    return this.#identity.getMember(orgId, userId);
  }

  listMembers(orgId: string): Promise<MemberRecord[]> {
    return this.#identity.listMembers(orgId);
  }

  setMemberRole(orgId: string, userId: string, role: KeyRole, at: string): Promise<boolean> {
    return this.#identity.setMemberRole(orgId, userId, role, at);
  }

  deleteMembership(orgId: string, userId: string, at: string): Promise<boolean> {
    return this.#identity.deleteMembership(orgId, userId, at);
  }

  insertApiKey(k: ApiKeyRecord): Promise<void> {
    return this.#keys.insert(k);
  }

  findApiKeyByHash(keyHash: string): Promise<ApiKeyRecord | undefined> {
    return this.#keys.findByHash(keyHash);
  }

  getApiKey(orgId: string, id: string): Promise<ApiKeyRecord | undefined> {
    return this.#keys.get(orgId, id);
  }

  listApiKeys(orgId: string): Promise<ApiKeyRecord[]> {
    return this.#keys.list(orgId);
  }

  revokeApiKey(orgId: string, id: string, at: string): Promise<boolean> {
    return this.#keys.revoke(orgId, id, at);
  }

  renameApiKey(orgId: string, id: string, name: string): Promise<boolean> {
    return this.#keys.rename(orgId, id, name);
  }

  rotateApiKey(orgId: string, oldId: string, replacement: ApiKeyRecord, at: string): Promise<boolean> {
    return this.#keys.rotate(orgId, oldId, replacement, at);
  }

  rotateApiKeyWithOverlap(orgId: string, oldId: string, replacement: ApiKeyRecord, retiresAt: string): Promise<boolean> {
    return this.#keys.rotateWithOverlap(orgId, oldId, replacement, retiresAt);
  }

  setApiKeyRotation(orgId: string, id: string, days: RotationDays | null): Promise<boolean> {
    return this.#keys.setRotation(orgId, id, days);
  }

  listScheduledApiKeys(): Promise<ApiKeyRecord[]> {
    return this.#keys.listScheduled();
  }

  claimRotationDueReport(orgId: string, id: string, dueAt: string): Promise<boolean> {
    return this.#keys.claimDueReport(orgId, id, dueAt);
  }

  async insertConnector(c: ConnectorRecord): Promise<void> {
    await query(this.#pool, 'INSERT INTO connectors (id, org_id, name, transport, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)', [
      c.id, c.orgId, c.name, JSON.stringify(c.transport), c.createdAt, c.updatedAt,
    ]);
  }

  async getConnector(orgId: string, id: string): Promise<ConnectorRecord | undefined> {
    const { rows } = await query(this.#pool, 'SELECT * FROM connectors WHERE org_id = $1 AND id = $2', [orgId, id]);
    return rows[0] && toConnector(rows[0]);
  }

  async updateConnector(c: ConnectorRecord): Promise<boolean> {
    const r = await query(this.#pool, 'UPDATE connectors SET name = $1, transport = $2, updated_at = $3 WHERE org_id = $4 AND id = $5', [
      c.name, JSON.stringify(c.transport), c.updatedAt, c.orgId, c.id,
    ]);
    return r.rowCount === 1;
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

  createVirtualServer(v: VirtualServerRecord): Promise<void> {
    return this.#virtualServers.create(v);
  }

  updateVirtualServer(orgId: string, id: string, p: VirtualServerPatch): Promise<VirtualServerRecord | undefined> {
    return this.#virtualServers.update(orgId, id, p);
  }

  getVirtualServer(orgId: string, name: string): Promise<VirtualServerRecord | undefined> {
    return this.#virtualServers.get(orgId, name);
  }

  listVirtualServers(orgId: string): Promise<VirtualServerRecord[]> {
    return this.#virtualServers.list(orgId);
  }

  listAllVirtualServers(): Promise<VirtualServerRecord[]> {
    return this.#virtualServers.listAll();
  }

  deleteVirtualServer(orgId: string, id: string): Promise<boolean> {
    return this.#virtualServers.delete(orgId, id);
  }

  virtualServersRevision(): Promise<number> {
    return this.#virtualServers.revision();
  }

  async accessRevision(): Promise<number> {
    const { rows } = await this.#query("SELECT value FROM counters WHERE name = 'access_revision'");
    return Number(rows[0]?.value);
  }

  appendAudit(orgId: string, seal: AuditSealer): Promise<AuditRecord> {
    return this.#audit.append(orgId, seal);
  }

  listAudit(orgId: string, afterSeq: number, limit: number): Promise<AuditRecord[]> {
    return this.#audit.list(orgId, afterSeq, limit);
  }

  searchAudit(orgId: string, filter: AuditFilter): Promise<AuditRecord[]> {
    return this.#audit.search(orgId, filter);
  }

  getAuditByHash(orgId: string, hash: string): Promise<AuditRecord | undefined> {
    return this.#audit.getByHash(orgId, hash);
  }

  listAuditChains(): Promise<string[]> {
    return this.#audit.chains();
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
