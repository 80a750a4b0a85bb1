/** The databases and records the store contract suite (store.test.ts) runs on; both dialects get the same tests. */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import { POSTGRES_MIGRATIONS } from './postgres/migrations.ts';
import { PostgresStore } from './postgres/postgres-store.ts';
import { SQLITE_MIGRATIONS } from './sqlite/migrations.ts';
import { SqliteStore } from './sqlite/sqlite-store.ts';
import type { ApiKeyRecord, ConnectorRecord, Organisation, Store, VirtualServerRecord } from './types.ts';

/** One database under test: stores opened on it, and a connection of its own that bypasses the store. */
export interface Fixture {
  readonly migrations: number;
  /** Statements the database must refuse on a chain that has records, run outside the store. */
  readonly refusedAuditStatements: readonly string[];
  /** SQL that brings an empty database to schema version 1, as a release that shipped only that version left it. */
  readonly versionOne: string;
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
    versionOne: `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL) STRICT;
      INSERT INTO schema_migrations (version, applied_at) VALUES (1, '2026-01-01T00:00:00.000Z');
      ${SQLITE_MIGRATIONS[0] ?? ''}`,
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
    versionOne: `CREATE SCHEMA ${schema};
      CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL);
      INSERT INTO schema_migrations (version, applied_at) VALUES (1, now());
      ${POSTGRES_MIGRATIONS[0] ?? ''}`,
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

export const orgA: Organisation = { id: 'org_a', slug: 'acme', name: 'Acme', createdAt: T0 };
export const orgB: Organisation = { id: 'org_b', slug: 'globex', name: 'Globex', createdAt: T1 };

export function apiKey(id: string, orgId: string, createdAt: string, overrides: Partial<ApiKeyRecord> = {}): ApiKeyRecord {
  return {
    id, orgId, name: `key ${id}`, keyHash: createHash('sha256').update(id).digest('hex'), displayPrefix: `gh_${id.slice(0, 4)}`,
    role: 'member', scopes: ['github:*', 'files:read'], servers: null, cidrs: null, createdBy: 'alice@example.com', createdAt, expiresAt: null,
    revokedAt: null, ...overrides,
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
