/** The databases and records the store contract suite (src/store/*.test.ts) runs on; both dialects get the same tests. */
import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import { linkHash } from '../../src/store/audit-link.ts';
import { POSTGRES_MIGRATIONS } from '../../src/store/postgres/migrations.ts';
import { PostgresStore } from '../../src/store/postgres/postgres-store.ts';
import { SQLITE_MIGRATIONS } from '../../src/store/sqlite/migrations.ts';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import type { ApiKeyRecord, AuditEvent, AuditRecord, AuditSealer, ConnectorRecord, Organisation, Store, VirtualServerRecord } from '../../src/store/types.ts';

/** One database under test: stores opened on it, and a connection of its own that bypasses the store. */
export interface Fixture {
  readonly migrations: number;
  /** Statements the database must refuse on a chain that has records, run outside the store. */
  readonly refusedAuditStatements: readonly string[];
  /** SQL that brings an empty database to schema `version`, as a release that shipped only that far left it. */
  schemaAt(version: number): string;
  open(): Store;
  raw(sql: string): Promise<Record<string, unknown>[]>;
  /** Runs one or more statements outside the store. */
  exec(sql: string): Promise<void>;
  cleanup(): Promise<void>;
}

export function sqliteFixture(): Fixture {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-store-'));
  const withDb = <T>(fn: (db: DatabaseSync) => T): Promise<T> => {
    const db = new DatabaseSync(join(dir, 'gatehouse.db'));
    return new Promise<T>((resolve) => {
      resolve(fn(db));
    }).finally(() => {
      db.close();
    });
  };
  return {
    migrations: SQLITE_MIGRATIONS.length,
    refusedAuditStatements: ["UPDATE audit_events SET reason = 'edited'", 'DELETE FROM audit_events'],
    schemaAt: (version) => `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL) STRICT;
      ${upTo(SQLITE_MIGRATIONS, version, (v) => `INSERT INTO schema_migrations (version, applied_at) VALUES (${v}, '2026-01-01T00:00:00.000Z')`)}`,
    open: () => SqliteStore.openInDataDir(dir),
    raw: (sql) => withDb((db) => db.prepare(sql).all()),
    exec: (sql) =>
      withDb((db) => {
        db.exec(sql);
      }),
    cleanup: () => {
      rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
    },
  };
}

/** The first `version` migrations, each followed by the row that records it, as migrate() would have left them. */
function upTo(migrations: readonly string[], version: number, record: (v: number) => string): string {
  return migrations.slice(0, version).map((sql, i) => `${sql}\n${record(i + 1)};`).join('\n');
}

// CI has PostgreSQL: an unreachable server fails this suite rather than skipping it.
const DATABASE_URL = process.env.GATEHOUSE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export function postgresFixture(): Fixture {
  const schema = `gatehouse_test_${randomBytes(6).toString('hex')}`;
  const withClient = async <T>(fn: (client: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: DATABASE_URL, options: `-c search_path=${schema}` });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  };
  return {
    migrations: POSTGRES_MIGRATIONS.length,
    refusedAuditStatements: [
      "UPDATE audit_events SET reason = 'edited'",
      'DELETE FROM audit_events',
      'TRUNCATE audit_events',
      "UPDATE audit_events SET reason = 'edited' WHERE org_id = 'no-such-org'",
    ],
    schemaAt: (version) => `CREATE SCHEMA ${schema};
      CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL);
      ${upTo(POSTGRES_MIGRATIONS, version, (v) => `INSERT INTO schema_migrations (version, applied_at) VALUES (${v}, now())`)}`,
    open: () => new PostgresStore(DATABASE_URL, { schema, poolSize: 4 }),
    raw: (sql) => withClient(async (client) => (await client.query<Record<string, unknown>>(sql)).rows),
    exec: (sql) =>
      withClient(async (client) => {
        await client.query(sql);
      }),
    cleanup: () =>
      withClient(async (client) => {
        await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      }),
  };
}

export const T0 = '2026-11-21T10:00:00.000Z';
export const T1 = '2026-11-21T10:00:01.000Z';
export const T2 = '2026-11-21T10:00:02.500Z';

export const orgA: Organisation = { id: 'org_a', slug: 'acme', name: 'Acme', createdAt: T0, deletedAt: null };
export const orgB: Organisation = { id: 'org_b', slug: 'globex', name: 'Globex', createdAt: T1, deletedAt: null };

export function apiKey(id: string, orgId: string, createdAt: string, overrides: Partial<ApiKeyRecord> = {}): ApiKeyRecord {
  return {
    id, orgId, userId: null, name: `key ${id}`, keyHash: createHash('sha256').update(id).digest('hex'), displayPrefix: `gh_${id.slice(0, 4)}`,
    role: 'member', scopes: ['github:*', 'files:read'], servers: null, cidrs: null, createdBy: 'alice@example.com', createdAt, expiresAt: null,
    revokedAt: null, rotationDays: null, rotationDueReported: null, retiresAt: null, policyExempt: false, ...overrides,
  };
}

export function connector(id: string, orgId: string, name: string): ConnectorRecord {
  return {
    id, orgId, name, createdAt: T0, updatedAt: T1,
    transport: {
      type: 'http', url: `https://${name}.example.com/mcp`,
      headers: [{ name: 'X-Plain', secret: false, value: 'v' }, { name: 'Authorization', secret: true, ciphertext: 'v1.abc' }],
    },
  };
}

export function virtualServer(id: string, orgId: string, name: string, overrides: Partial<VirtualServerRecord> = {}): VirtualServerRecord {
  return {
    id, orgId, name, description: `the ${name} server`, tools: ['github/create_*', 'files'], prompts: ['github'], resources: [],
    unprefixed: false, createdAt: T0, updatedAt: T1, ...overrides,
  };
}

export type Head = Parameters<AuditSealer>[0];

export function auditEvent(orgId: string, n: number): AuditEvent {
  return {
    ts: new Date(Date.UTC(2026, 10, 21, 10, 0, n)).toISOString(), orgId, actorKeyId: n % 2 ? `key_${n}` : null,
    actorUser: n % 2 ? null : 'bob@example.com', clientIp: n % 2 ? '192.0.2.7' : null, action: 'tools/call',
    targetConnector: n % 2 ? 'github' : null, targetName: n % 2 ? 'create_issue' : null, decision: n % 3 ? 'allow' : 'deny',
    reason: n % 3 ? null : 'scope', latencyMs: n % 2 ? 12.345 + n : null, correlationId: `corr-${n}`,
    args: n % 2 ? JSON.stringify({ title: `issue ${n}`, token: '[REDACTED]' }) : null,
    detail: n % 4 === 0 ? JSON.stringify({ guard: [{ rule: 'pii.email', at: 'content[0].text', action: 'redact' }] }) : null,
  };
}

/**
 * A stand-in for the real chain in gateway/audit: enough to tell heads and links apart. Its content commitment is
 * its own, but its link is the store's (audit-link.ts), which PostgreSQL's audit_append() computes as well.
 */
export function sealer(event: AuditEvent, heads?: Head[]): AuditSealer {
  const salt = createHash('sha256').update(JSON.stringify(event)).digest('hex').slice(0, 32);
  const content = createHash('sha256').update(`${salt}\n${JSON.stringify(event)}`).digest('hex');
  const seal = (head: Head): AuditRecord => {
    heads?.push(head);
    const seq = (head?.seq ?? 0) + 1;
    const prevHash = head?.hash ?? '0'.repeat(64);
    return { ...event, seq, prevHash, hash: linkHash(prevHash, seq, content), salt };
  };
  return Object.assign(seal, { content, draft: { ...event, salt } });
}

export function assertLinked(records: readonly AuditRecord[]): void {
  records.forEach((r, i) => {
    assert.equal(r.seq, i + 1);
    assert.equal(r.prevHash, i === 0 ? '0'.repeat(64) : records[i - 1]?.hash);
  });
}

/** What a contract suite's tests use: two stores on one fresh, migrated database holding orgA and orgB. */
export interface Stores {
  readonly fixture: Fixture;
  readonly store: Store;
  /** A second store on the same database, as another replica would open it. */
  readonly other: Store;
}

/**
 * Runs `body` once per dialect (SQLite, PostgreSQL), as `describe('<Store> <what>')`, on a database of its own: two
 * stores opened and migrated, orgA and orgB created, then `seed`; closed and removed afterwards. The stores are read
 * from `db` inside the tests (they exist once `before` has run).
 */
export function forEachDialect(what: string, body: (db: Stores) => void, seed?: (store: Store) => Promise<void>): void {
  for (const [name, makeFixture] of [['SqliteStore', sqliteFixture], ['PostgresStore', postgresFixture]] as const) {
    void describe(`${name} ${what}`, () => {
      const db = {} as { fixture: Fixture; store: Store; other: Store };
      before(async () => {
        db.fixture = makeFixture();
        db.store = db.fixture.open();
        db.other = db.fixture.open();
        await db.store.migrate();
        await db.other.migrate();
        await db.store.createOrganisation(orgA);
        await db.store.createOrganisation(orgB);
        await seed?.(db.store);
      });
      after(async () => {
        await Promise.all([db.store.close(), db.other.close()]);
        await db.fixture.cleanup();
      });
      body(db);
    });
  }
}
