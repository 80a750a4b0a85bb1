import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { auditWhere, toAuditRecord, toConnector, toOrganisation, type Row } from '../rows.ts';
import {
  DuplicateError,
  type ApiKeyRecord,
  type AuditFilter,
  type AuditRecord,
  type AuditSealer,
  type ConnectorRecord,
  type KeyRole,
  type MemberRecord,
  type MembershipRecord,
  type Organisation,
  type RotationDays,
  type Store,
  type UserRecord,
  type VirtualServerPatch,
  type VirtualServerRecord,
} from '../types.ts';
import { SqliteNetworkAllowlists, SqliteOAuthIssuers, type SqliteAccess } from './access-rules.ts';
import { SQLITE_MIGRATIONS } from './migrations.ts';
import { SqlitePinning } from './sqlite-pinning.ts';
import { SqliteAuditWriter } from './sqlite-audit.ts';
import { SqliteAuditAnchors } from './sqlite-audit-anchors.ts';
import { SqliteAuditRetention } from './sqlite-audit-retention.ts';
import { SqliteIdempotency } from './sqlite-idempotency.ts';
import { SqliteVault } from './sqlite-vault.ts';
import { SqliteIdentity, type SqliteRunner } from './sqlite-identity.ts';
import { SqliteKeys } from './sqlite-keys.ts';
import { SqliteScim } from './sqlite-scim.ts';
import { SqliteApprovals } from './sqlite-approvals.ts';
import { SqliteSiem } from './sqlite-siem.ts';
import { SqlitePolicies } from './sqlite-policy.ts';
import { SqliteSignIn } from './sqlite-sign-in.ts';
import { SqliteTrafficSettings } from './sqlite-traffic.ts';
import { SqliteGuardrailSettings } from './sqlite-guardrails.ts';
import { SqliteKeyPolicies } from './sqlite-key-policies.ts';
import { SqliteUpstreamTokens } from './sqlite-upstream-tokens.ts';
import { SqliteVirtualServers } from './sqlite-virtual-servers.ts';


/**
 * The embedded default. node:sqlite is synchronous, which suits the hot path: a key lookup or an audit append is a
 * few microseconds with no event-loop hop. WAL lets the CLI write while a server reads; busy_timeout covers the
 * moment both write.
 */
export class SqliteStore implements Store {
  readonly dialect = 'sqlite' as const;
  readonly #db: DatabaseSync;
  readonly #stmts = new Map<string, StatementSync>();
  readonly #audit: SqliteAuditWriter;
  readonly #identity: SqliteIdentity;
  readonly #virtualServers: SqliteVirtualServers;
  readonly #keys: SqliteKeys;
  readonly signIn: SqliteSignIn;
  readonly scim: SqliteScim;
  readonly idempotency: SqliteIdempotency;
  readonly vault: SqliteVault;
  readonly approvals: SqliteApprovals;
  readonly siem: SqliteSiem;
  readonly auditRetention: SqliteAuditRetention;
  readonly #access: SqliteAccess = { stmt: (sql) => this.#stmt(sql), write: (fn) => this.#write(fn) };
  readonly oauthIssuers = new SqliteOAuthIssuers(this.#access);
  readonly networkAllowlists = new SqliteNetworkAllowlists(this.#access);
  readonly trafficSettings = new SqliteTrafficSettings(this.#access);
  readonly guardrailSettings = new SqliteGuardrailSettings(this.#access);
  readonly keyPolicies = new SqliteKeyPolicies(this.#access);
  readonly upstreamTokens = new SqliteUpstreamTokens(this.#access);
  readonly pinning = new SqlitePinning(this.#access);
  readonly auditAnchors = new SqliteAuditAnchors(this.#access);
  readonly policies = new SqlitePolicies(this.#access);

  constructor(path: string) {
    // The busy timeout comes first: switching to WAL takes a lock, and another process (the CLI beside a running
    // server, or several CLIs at once) holding one would otherwise fail the open with "database is locked".
    this.#db = new DatabaseSync(path, { timeout: 5000 });
    this.#db.exec('PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;');
    const runner: SqliteRunner = {
      stmt: (sql) => this.#stmt(sql),
      transaction: (fn) => this.#transaction(fn),
      write: (fn) => this.#write(fn),
    };
    this.#identity = new SqliteIdentity(runner);
    this.#virtualServers = new SqliteVirtualServers(runner);
    this.#keys = new SqliteKeys(runner);
    this.signIn = new SqliteSignIn(runner, (fn) => this.#run(fn));
    this.scim = new SqliteScim(runner, (fn) => this.#run(fn));
    this.idempotency = new SqliteIdempotency(runner, (fn) => this.#run(fn));
    this.vault = new SqliteVault(runner, (fn) => this.#run(fn));
    this.approvals = new SqliteApprovals(runner, (fn) => this.#run(fn));
    this.siem = new SqliteSiem(runner, (fn) => this.#run(fn));
    this.auditRetention = new SqliteAuditRetention(runner);
    this.#audit = new SqliteAuditWriter(this.#db, (sql) => this.#stmt(sql));
  }

  static openInDataDir(dataDir: string): SqliteStore {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const path = join(dataDir, 'gatehouse.db');
    // Created owner-only before SQLite opens it: SQLite gives its -wal and -shm files the database file's mode.
    closeSync(openSync(path, 'a', 0o600));
    chmodSync(path, 0o600);
    return new SqliteStore(path);
  }

  #stmt(sql: string): StatementSync {
    let s = this.#stmts.get(sql);
    if (s === undefined) {
      s = this.#db.prepare(sql);
      this.#stmts.set(sql, s);
    }
    return s;
  }

  #transaction<T>(fn: () => T): T {
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      const result = fn();
      this.#db.exec('COMMIT');
      return result;
    } catch (err) {
      this.#db.exec('ROLLBACK');
      throw err;
    }
  }

  migrate(): Promise<void> {
    this.#db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL) STRICT');
    this.#transaction(() => {
      const row = this.#db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations').get() as Row;
      for (let v = Number(row.v); v < SQLITE_MIGRATIONS.length; v++) {
        this.#db.exec(SQLITE_MIGRATIONS[v] ?? '');
        this.#db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(v + 1, new Date().toISOString());
      }
    });
    return Promise.resolve();
  }

  close(): Promise<void> {
    if (!this.#db.isOpen) return Promise.resolve();
    this.#audit.flush();
    this.#db.close();
    return Promise.resolve();
  }

  createOrganisation(org: Organisation): Promise<void> {
    return this.#write(() =>
      this.#stmt('INSERT INTO organisations (id, slug, name, created_at) VALUES (?, ?, ?, ?)').run(org.id, org.slug, org.name, org.createdAt),
    );
  }

  getOrganisation(id: string): Promise<Organisation | undefined> {
    const row = this.#stmt('SELECT * FROM organisations WHERE id = ?').get(id) as Row | undefined;
    return Promise.resolve(row && toOrganisation(row));
  }

  getOrganisationBySlug(slug: string): Promise<Organisation | undefined> {
    const row = this.#stmt('SELECT * FROM organisations WHERE slug = ?').get(slug) as Row | undefined;
    return Promise.resolve(row && toOrganisation(row));
  }

  listOrganisations(): Promise<Organisation[]> {
    return Promise.resolve((this.#stmt('SELECT * FROM organisations ORDER BY created_at, id').all() as Row[]).map(toOrganisation));
  }

  renameOrganisation(id: string, name: string): Promise<boolean> {
    return this.#run(() => this.#identity.renameOrganisation(id, name));
  }

  deleteOrganisation(id: string, at: string): Promise<boolean> {
    return this.#run(() => this.#identity.deleteOrganisation(id, at));
  }

  insertUser(user: UserRecord): Promise<void> {
    return this.#identity.insertUser(user);
  }

  getUser(id: string): Promise<UserRecord | undefined> {
    return this.#run(() => this.#identity.getUser(id));
  }

  getUserByEmail(email: string): Promise<UserRecord | undefined> {
    return this.#run(() => this.#identity.getUserByEmail(email));
  }

  insertMembership(m: MembershipRecord): Promise<void> {
    return this.#identity.insertMembership(m);
  }

  getMember(orgId: string, userId: string): Promise<MemberRecord | undefined> {
    return this.#run(() => this.#identity.getMember(orgId, userId));
  }

  listMembers(orgId: string): Promise<MemberRecord[]> {
    return this.#run(() => this.#identity.listMembers(orgId));
  }

  setMemberRole(orgId: string, userId: string, role: KeyRole, at: string): Promise<boolean> {
    return this.#run(() => this.#identity.setMemberRole(orgId, userId, role, at));
  }

  deleteMembership(orgId: string, userId: string, at: string): Promise<boolean> {
    return this.#run(() => this.#identity.deleteMembership(orgId, userId, at));
  }

  insertApiKey(k: ApiKeyRecord): Promise<void> {
    return this.#write(() => {
      this.#keys.insert(k);
    });
  }

  findApiKeyByHash(keyHash: string): Promise<ApiKeyRecord | undefined> {
    return this.#run(() => this.#keys.findByHash(keyHash));
  }

  getApiKey(orgId: string, id: string): Promise<ApiKeyRecord | undefined> {
    return this.#run(() => this.#keys.get(orgId, id));
  }

  listApiKeys(orgId: string): Promise<ApiKeyRecord[]> {
    return this.#run(() => this.#keys.list(orgId));
  }

  revokeApiKey(orgId: string, id: string, at: string): Promise<boolean> {
    return this.#run(() => this.#keys.revoke(orgId, id, at));
  }

  renameApiKey(orgId: string, id: string, name: string): Promise<boolean> {
    return this.#run(() => this.#keys.rename(orgId, id, name));
  }

  rotateApiKey(orgId: string, oldId: string, replacement: ApiKeyRecord, at: string): Promise<boolean> {
    return this.#run(() => this.#keys.rotate(orgId, oldId, replacement, at));
  }

  rotateApiKeyWithOverlap(orgId: string, oldId: string, replacement: ApiKeyRecord, retiresAt: string): Promise<boolean> {
    return this.#run(() => this.#keys.rotateWithOverlap(orgId, oldId, replacement, retiresAt));
  }

  setApiKeyRotation(orgId: string, id: string, days: RotationDays | null): Promise<boolean> {
    return this.#run(() => this.#keys.setRotation(orgId, id, days));
  }

  listScheduledApiKeys(): Promise<ApiKeyRecord[]> {
    return this.#run(() => this.#keys.listScheduled());
  }

  claimRotationDueReport(orgId: string, id: string, dueAt: string): Promise<boolean> {
    return this.#run(() => this.#keys.claimDueReport(orgId, id, dueAt));
  }

  insertConnector(c: ConnectorRecord): Promise<void> {
    return this.#write(() =>
      this.#stmt('INSERT INTO connectors (id, org_id, name, transport, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)').run(
        c.id, c.orgId, c.name, JSON.stringify(c.transport), c.createdAt, c.updatedAt,
      ),
    );
  }

  getConnector(orgId: string, id: string): Promise<ConnectorRecord | undefined> {
    const row = this.#stmt('SELECT * FROM connectors WHERE org_id = ? AND id = ?').get(orgId, id) as Row | undefined;
    return Promise.resolve(row && toConnector(row));
  }

  updateConnector(c: ConnectorRecord): Promise<boolean> {
    return this.#run(() => {
      const r = this.#stmt('UPDATE connectors SET name = ?, transport = ?, updated_at = ? WHERE org_id = ? AND id = ?').run(
        c.name, JSON.stringify(c.transport), c.updatedAt, c.orgId, c.id,
      );
      return Number(r.changes) === 1;
    });
  }

  getConnectorByName(orgId: string, name: string): Promise<ConnectorRecord | undefined> {
    const row = this.#stmt('SELECT * FROM connectors WHERE org_id = ? AND name = ?').get(orgId, name) as Row | undefined;
    return Promise.resolve(row && toConnector(row));
  }

  listConnectors(orgId: string): Promise<ConnectorRecord[]> {
    return Promise.resolve((this.#stmt('SELECT * FROM connectors WHERE org_id = ? ORDER BY name').all(orgId) as Row[]).map(toConnector));
  }

  listAllConnectors(): Promise<ConnectorRecord[]> {
    return Promise.resolve((this.#stmt('SELECT * FROM connectors ORDER BY org_id, name').all() as Row[]).map(toConnector));
  }

  deleteConnector(orgId: string, id: string): Promise<boolean> {
    const r = this.#stmt('DELETE FROM connectors WHERE org_id = ? AND id = ?').run(orgId, id);
    return Promise.resolve(Number(r.changes) === 1);
  }

  connectorsRevision(): Promise<number> {
    const row = this.#stmt("SELECT value FROM counters WHERE name = 'connectors_revision'").get() as Row;
    return Promise.resolve(Number(row.value));
  }

  createVirtualServer(v: VirtualServerRecord): Promise<void> {
    return this.#virtualServers.create(v);
  }

  updateVirtualServer(orgId: string, id: string, p: VirtualServerPatch): Promise<VirtualServerRecord | undefined> {
    return this.#run(() => this.#virtualServers.update(orgId, id, p));
  }

  getVirtualServer(orgId: string, name: string): Promise<VirtualServerRecord | undefined> {
    return this.#run(() => this.#virtualServers.get(orgId, name));
  }

  listVirtualServers(orgId: string): Promise<VirtualServerRecord[]> {
    return this.#run(() => this.#virtualServers.list(orgId));
  }

  listAllVirtualServers(): Promise<VirtualServerRecord[]> {
    return this.#run(() => this.#virtualServers.listAll());
  }

  deleteVirtualServer(orgId: string, id: string): Promise<boolean> {
    return this.#run(() => this.#virtualServers.delete(orgId, id));
  }

  virtualServersRevision(): Promise<number> {
    return this.#run(() => this.#virtualServers.revision());
  }

  accessRevision(): Promise<number> {
    return this.#run(() => Number((this.#stmt("SELECT value FROM counters WHERE name = 'access_revision'").get() as Row).value));
  }

  /** Group commit: see SqliteAuditWriter. */
  appendAudit(orgId: string, seal: AuditSealer): Promise<AuditRecord> {
    return this.#audit.append(orgId, seal);
  }

  listAudit(orgId: string, afterSeq: number, limit: number): Promise<AuditRecord[]> {
    const rows = this.#stmt('SELECT * FROM audit_events WHERE org_id = ? AND seq > ? ORDER BY seq LIMIT ?').all(orgId, afterSeq, limit) as Row[];
    return Promise.resolve(rows.map(toAuditRecord));
  }

  searchAudit(orgId: string, filter: AuditFilter): Promise<AuditRecord[]> {
    const { where, values } = auditWhere(orgId, filter, () => '?');
    const rows = this.#stmt(`SELECT * FROM audit_events WHERE ${where} ORDER BY seq LIMIT ?`).all(...(values as (string | number)[]), filter.limit) as Row[];
    return Promise.resolve(rows.map(toAuditRecord));
  }

  getAuditByHash(orgId: string, hash: string): Promise<AuditRecord | undefined> {
    // The prefix expression is the one audit_events_hash_prefix indexes (migration 7), so the lookup is an index seek.
    const row = this.#stmt('SELECT * FROM audit_events WHERE unhex(substr(hash, 1, 16)) = unhex(substr(?, 1, 16)) AND org_id = ? AND hash = ?').get(
      hash, orgId, hash,
    ) as Row | undefined;
    return Promise.resolve(row && toAuditRecord(row));
  }

  listAuditChains(): Promise<string[]> {
    return Promise.resolve((this.#stmt('SELECT DISTINCT org_id FROM audit_events ORDER BY org_id').all() as Row[]).map((r) => String(r.org_id)));
  }

  /** Runs a synchronous statement as a promise: a thrown error becomes a rejection, a unique violation a DuplicateError. */
  #run<T>(fn: () => T): Promise<T> {
    try {
      return Promise.resolve(fn());
    } catch (err) {
      if (isUniqueViolation(err)) return Promise.reject(new DuplicateError('already exists', { cause: err }));
      return Promise.reject(asError(err));
    }
  }

  #write(fn: () => unknown): Promise<void> {
    try {
      fn();
      return Promise.resolve();
    } catch (err) {
      if (isUniqueViolation(err)) return Promise.reject(new DuplicateError('already exists', { cause: err }));
      return Promise.reject(asError(err));
    }
  }
}

function isUniqueViolation(err: unknown): boolean {
  return err instanceof Error && /UNIQUE constraint failed/.test(err.message);
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
