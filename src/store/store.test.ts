import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { POSTGRES_MIGRATIONS } from './postgres/migrations.ts';
import { PostgresStore } from './postgres/postgres-store.ts';
import { SQLITE_MIGRATIONS } from './sqlite/migrations.ts';
import { SqliteStore } from './sqlite/sqlite-store.ts';
import {
  DuplicateError,
  type ApiKeyRecord,
  type AuditEvent,
  type AuditRecord,
  type AuditSealer,
  type ConnectorRecord,
  type MembershipRecord,
  type Organisation,
  type Store,
  type UserRecord,
} from './types.ts';

/** One database under test: stores opened on it, and a connection of its own that bypasses the store. */
interface Fixture {
  readonly migrations: number;
  /** Statements the database must refuse on a chain that has records, run outside the store. */
  readonly refusedAuditStatements: readonly string[];
  open(): Store;
  raw(sql: string): Promise<Record<string, unknown>[]>;
  cleanup(): Promise<void>;
}

function sqliteFixture(): Fixture {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-store-'));
  return {
    migrations: SQLITE_MIGRATIONS.length,
    refusedAuditStatements: ["UPDATE audit_events SET reason = 'edited'", 'DELETE FROM audit_events'],
    open: () => SqliteStore.openInDataDir(dir),
    raw: (sql) => {
      const db = new DatabaseSync(join(dir, 'gatehouse.db'));
      return new Promise<Record<string, unknown>[]>((resolve) => {
        resolve(db.prepare(sql).all());
      }).finally(() => {
        db.close();
      });
    },
    cleanup: () => {
      rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
    },
  };
}

// CI has PostgreSQL: an unreachable server fails this suite rather than skipping it.
const DATABASE_URL = process.env.GATEHOUSE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

function postgresFixture(): Fixture {
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
    open: () => new PostgresStore(DATABASE_URL, { schema, poolSize: 4 }),
    raw: (sql) => withClient(async (client) => (await client.query<Record<string, unknown>>(sql)).rows),
    cleanup: () =>
      withClient(async (client) => {
        await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      }),
  };
}

const T0 = '2026-11-21T10:00:00.000Z';
const T1 = '2026-11-21T10:00:01.000Z';
const T2 = '2026-11-21T10:00:02.500Z';

const orgA: Organisation = { id: 'org_a', slug: 'acme', name: 'Acme', createdAt: T0, deletedAt: null };
const orgB: Organisation = { id: 'org_b', slug: 'globex', name: 'Globex', createdAt: T1, deletedAt: null };

function apiKey(id: string, orgId: string, createdAt: string, overrides: Partial<ApiKeyRecord> = {}): ApiKeyRecord {
  return {
    id, orgId, userId: null, name: `key ${id}`, keyHash: createHash('sha256').update(id).digest('hex'), displayPrefix: `gh_${id.slice(0, 4)}`,
    role: 'member', scopes: ['github:*', 'files:read'], createdBy: 'alice@example.com', createdAt, expiresAt: null, revokedAt: null,
    ...overrides,
  };
}

function connector(id: string, orgId: string, name: string): ConnectorRecord {
  return {
    id, orgId, name, createdAt: T0, updatedAt: T1,
    transport: {
      type: 'http', url: `https://${name}.example.com/mcp`,
      headers: [{ name: 'X-Plain', secret: false, value: 'v' }, { name: 'Authorization', secret: true, ciphertext: 'v1.abc' }],
    },
  };
}

type Head = Parameters<AuditSealer>[0];

function auditEvent(orgId: string, n: number): AuditEvent {
  return {
    ts: new Date(Date.UTC(2026, 10, 21, 10, 0, n)).toISOString(), orgId, actorKeyId: n % 2 ? `key_${n}` : null,
    actorUser: n % 2 ? null : 'bob@example.com', clientIp: n % 2 ? '192.0.2.7' : null, action: 'tools/call',
    targetConnector: n % 2 ? 'github' : null, targetName: n % 2 ? 'create_issue' : null, decision: n % 3 ? 'allow' : 'deny',
    reason: n % 3 ? null : 'scope', latencyMs: n % 2 ? 12.345 + n : null, correlationId: `corr-${n}`,
    args: n % 2 ? JSON.stringify({ title: `issue ${n}`, token: '[REDACTED]' }) : null,
  };
}

/** A stand-in for the real chain in gateway/audit: enough to tell heads and links apart. */
function sealer(event: AuditEvent, heads?: Head[]): AuditSealer {
  return (head) => {
    heads?.push(head);
    const seq = (head?.seq ?? 0) + 1;
    const prevHash = head?.hash ?? '0'.repeat(64);
    const hash = createHash('sha256').update(`${prevHash}\n${String(seq)}\n${JSON.stringify(event)}`).digest('hex');
    return { ...event, seq, prevHash, hash };
  };
}

function assertLinked(records: readonly AuditRecord[]): void {
  records.forEach((r, i) => {
    assert.equal(r.seq, i + 1);
    assert.equal(r.prevHash, i === 0 ? '0'.repeat(64) : records[i - 1]?.hash);
  });
}

for (const [name, makeFixture] of [['SqliteStore', sqliteFixture], ['PostgresStore', postgresFixture]] as const) {
  void describe(name, () => {
    let fixture: Fixture;
    let store: Store;
    let other: Store; // a second store on the same database, as a CLI or another replica would have

    before(async () => {
      fixture = makeFixture();
      store = fixture.open();
      other = fixture.open();
      await Promise.all([store.migrate(), other.migrate()]);
    });

    after(async () => {
      await Promise.all([store.close(), other.close()]);
      await fixture.cleanup();
    });

    void it('migrates again without change', async () => {
      await store.migrate();
      await other.migrate();
      const rows = await fixture.raw('SELECT version FROM schema_migrations ORDER BY version');
      assert.deepEqual(rows.map((r) => Number(r.version)), Array.from({ length: fixture.migrations }, (_, i) => i + 1));
      assert.equal(await store.connectorsRevision(), 0);
    });

    void it('creates, gets and lists organisations; a taken slug or id is a DuplicateError', async () => {
      await store.createOrganisation(orgB);
      await store.createOrganisation(orgA);
      assert.deepEqual(await store.getOrganisationBySlug('acme'), orgA);
      assert.deepEqual(await other.getOrganisationBySlug('globex'), orgB);
      assert.equal(await store.getOrganisationBySlug('initech'), undefined);
      assert.deepEqual(await store.listOrganisations(), [orgA, orgB]);
      await assert.rejects(store.createOrganisation({ ...orgA, id: 'org_c' }), DuplicateError);
      await assert.rejects(store.createOrganisation({ ...orgA, slug: 'other' }), DuplicateError);
      assert.equal((await store.listOrganisations()).length, 2);
    });

    void it('stores API keys, scoped by organisation, and revokes each once', async () => {
      const k1 = apiKey('key_1', orgA.id, T1, { role: 'admin', expiresAt: T2, scopes: [] });
      const k2 = apiKey('key_2', orgA.id, T0);
      const k3 = apiKey('key_3', orgB.id, T0, { role: 'viewer' });
      for (const k of [k1, k2, k3]) await store.insertApiKey(k);
      await assert.rejects(store.insertApiKey({ ...k1, id: 'key_4' }), DuplicateError, 'same key hash');
      await assert.rejects(store.insertApiKey({ ...k1, keyHash: 'f'.repeat(64) }), DuplicateError, 'same id');

      assert.deepEqual(await store.findApiKeyByHash(k1.keyHash), k1);
      assert.deepEqual(await store.findApiKeyByHash(k3.keyHash), k3);
      assert.equal(await store.findApiKeyByHash('0'.repeat(64)), undefined);
      assert.deepEqual(await store.getApiKey(orgA.id, k1.id), k1);
      assert.equal(await store.getApiKey(orgB.id, k1.id), undefined, "another organisation's key");
      assert.equal(await store.getApiKey(orgA.id, 'key_missing'), undefined);
      assert.deepEqual(await store.listApiKeys(orgA.id), [k2, k1]);
      assert.deepEqual(await store.listApiKeys(orgB.id), [k3]);
      assert.deepEqual(await store.listApiKeys('org_none'), []);

      assert.equal(await store.revokeApiKey(orgB.id, k1.id, T2), false, "another organisation's key");
      assert.deepEqual(await store.getApiKey(orgA.id, k1.id), k1);
      assert.equal(await store.revokeApiKey(orgA.id, k1.id, T2), true);
      assert.equal(await other.revokeApiKey(orgA.id, k1.id, T0), false, 'already revoked');
      assert.equal(await store.revokeApiKey(orgA.id, 'key_missing', T2), false);
      assert.deepEqual(await store.findApiKeyByHash(k1.keyHash), { ...k1, revokedAt: T2 });
    });

    void it('stores connectors, scoped by organisation, and bumps the revision', async () => {
      const github = connector('con_1', orgA.id, 'github');
      const files: ConnectorRecord = {
        id: 'con_2', orgId: orgA.id, name: 'files', createdAt: T1, updatedAt: T2,
        transport: { type: 'stdio', command: 'npx', args: ['-y', 'server-files', '/srv'], cwd: '/srv', env: [{ name: 'TOKEN', secret: true, ciphertext: 'v1.xyz' }] },
      };
      const githubB = connector('con_3', orgB.id, 'github');
      const rev0 = await store.connectorsRevision();
      await store.insertConnector(github);
      const rev1 = await store.connectorsRevision();
      assert.notEqual(rev1, rev0);
      await store.insertConnector(files);
      await other.insertConnector(githubB);
      const rev2 = await store.connectorsRevision();
      assert.notEqual(rev2, rev1);

      await assert.rejects(store.insertConnector({ ...github, id: 'con_4' }), DuplicateError, 'same name, same organisation');
      assert.equal(await store.connectorsRevision(), rev2, 'a refused insert leaves the revision');

      assert.deepEqual(await store.getConnectorByName(orgA.id, 'github'), github);
      assert.deepEqual(await store.getConnectorByName(orgB.id, 'github'), githubB);
      assert.equal(await store.getConnectorByName(orgB.id, 'files'), undefined, "another organisation's connector");
      assert.deepEqual(await store.listConnectors(orgA.id), [files, github]);
      assert.deepEqual(await store.listConnectors(orgB.id), [githubB]);
      assert.deepEqual(await store.listAllConnectors(), [files, github, githubB]);

      assert.equal(await store.deleteConnector(orgB.id, github.id), false, "another organisation's connector");
      assert.equal(await store.connectorsRevision(), rev2);
      assert.equal(await store.deleteConnector(orgA.id, github.id), true);
      const rev3 = await other.connectorsRevision();
      assert.notEqual(rev3, rev2);
      assert.equal(await store.deleteConnector(orgA.id, github.id), false);
      assert.deepEqual(await store.listAllConnectors(), [files, githubB]);
    });

    void it('appends audit records in a chain per organisation and lists them in pages', async () => {
      const heads: Head[] = [];
      const appended: AuditRecord[] = [];
      for (let n = 1; n <= 4; n++) appended.push(await store.appendAudit(orgA.id, sealer(auditEvent(orgA.id, n), heads)));
      const system = await other.appendAudit('system', sealer(auditEvent('system', 5)));

      assert.deepEqual(heads, [undefined, ...appended.slice(0, 3).map((r) => ({ seq: r.seq, hash: r.hash }))]);
      assertLinked(appended);
      assert.equal(system.seq, 1);
      assert.deepEqual(await store.listAudit(orgA.id, 0, 100), appended);
      assert.deepEqual(await store.listAudit(orgA.id, 1, 2), appended.slice(1, 3));
      assert.deepEqual(await store.listAudit(orgA.id, 3, 2), appended.slice(3));
      assert.deepEqual(await store.listAudit(orgA.id, 4, 2), []);
      assert.deepEqual(await store.listAudit(orgB.id, 0, 100), []);
      assert.deepEqual(await store.listAudit('system', 0, 100), [system]);
      assert.deepEqual(await store.listAuditChains(), [orgA.id, 'system']);
    });

    void it('leaves the chain untouched when sealing fails', async () => {
      await assert.rejects(store.appendAudit(orgA.id, () => { throw new Error('sealer broke'); }), /sealer broke/);
      const next = await store.appendAudit(orgA.id, sealer(auditEvent(orgA.id, 6)));
      assert.equal(next.seq, 5);
      assertLinked(await store.listAudit(orgA.id, 0, 100));
    });

    void it('keeps appends of one turn apart per chain, and a failing one does not take the others down', async () => {
      const orgs = ['org_turn_a', 'org_turn_b'];
      const settled = await Promise.allSettled(
        Array.from({ length: 12 }, (_, n) =>
          n === 5
            ? store.appendAudit(orgs[0]!, () => {
                throw new Error('sealer broke');
              })
            : store.appendAudit(orgs[n % 2]!, sealer(auditEvent(orgs[n % 2]!, n))),
        ),
      );
      assert.equal(settled.filter((r) => r.status === 'rejected').length, 1);
      for (const org of orgs) {
        const stored = await store.listAudit(org, 0, 100);
        assert.equal(stored.length, org === orgs[0] ? 6 : 5);
        assert.deepEqual(stored.map((r) => r.seq), Array.from({ length: stored.length }, (_, i) => i + 1));
        assertLinked(stored);
      }
    });

    void it('never forks a chain under 50 concurrent appends from two stores', async () => {
      const org = 'org_busy';
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, n) => (n % 2 ? other : store).appendAudit(org, sealer(auditEvent(org, n)))),
      );
      assert.deepEqual(results.map((r) => r.seq).sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i + 1));
      const stored = await store.listAudit(org, 0, 100);
      assert.equal(stored.length, 50);
      assertLinked(stored);
      assert.deepEqual(stored, [...results].sort((a, b) => a.seq - b.seq));
    });

    void it('stores users and memberships, scoped by organisation; removing a member revokes their keys there', async () => {
      const alice: UserRecord = { id: 'usr_alice', email: 'alice@example.com', createdAt: T0 };
      const bob: UserRecord = { id: 'usr_bob', email: 'bob@example.com', createdAt: T1 };
      await store.insertUser(alice);
      await other.insertUser(bob);
      await assert.rejects(store.insertUser({ ...alice, id: 'usr_other' }), DuplicateError, 'same email');
      assert.deepEqual(await store.getUser(alice.id), alice);
      assert.deepEqual(await other.getUserByEmail('bob@example.com'), bob);
      assert.equal(await store.getUserByEmail('carol@example.com'), undefined);

      const m = (orgId: string, userId: string, role: MembershipRecord['role'], at = T0): MembershipRecord => ({ orgId, userId, role, createdAt: at, updatedAt: at });
      await store.insertMembership(m(orgA.id, alice.id, 'owner'));
      await store.insertMembership(m(orgA.id, bob.id, 'member', T1));
      await store.insertMembership(m(orgB.id, alice.id, 'viewer'));
      await assert.rejects(store.insertMembership(m(orgA.id, alice.id, 'admin')), DuplicateError, 'one membership per organisation');

      assert.deepEqual(await store.getMember(orgA.id, alice.id), { ...m(orgA.id, alice.id, 'owner'), email: alice.email });
      assert.deepEqual(await store.getMember(orgB.id, alice.id), { ...m(orgB.id, alice.id, 'viewer'), email: alice.email });
      assert.equal(await store.getMember(orgB.id, bob.id), undefined, "another organisation's member");
      assert.deepEqual((await store.listMembers(orgA.id)).map((x) => [x.userId, x.role]), [[alice.id, 'owner'], [bob.id, 'member']]);
      assert.deepEqual((await other.listMembers(orgB.id)).map((x) => x.userId), [alice.id]);

      assert.equal(await store.setMemberRole(orgB.id, bob.id, 'admin', T2), false, "another organisation's member");
      assert.equal(await store.setMemberRole(orgA.id, bob.id, 'admin', T2), true);
      assert.deepEqual(await other.getMember(orgA.id, bob.id), { ...m(orgA.id, bob.id, 'admin', T1), updatedAt: T2, email: bob.email });

      const bobKeyA = apiKey('key_bob_a', orgA.id, T1, { userId: bob.id });
      const aliceKeyA = apiKey('key_alice_a', orgA.id, T1, { userId: alice.id });
      const aliceKeyB = apiKey('key_alice_b', orgB.id, T1, { userId: alice.id });
      for (const k of [bobKeyA, aliceKeyA, aliceKeyB]) await store.insertApiKey(k);
      assert.deepEqual(await store.getApiKey(orgA.id, bobKeyA.id), bobKeyA);

      assert.equal(await store.deleteMembership(orgB.id, bob.id, T2), false, "another organisation's member");
      assert.equal(await store.deleteMembership(orgB.id, alice.id, T2), true);
      assert.equal(await store.getMember(orgB.id, alice.id), undefined);
      assert.equal((await store.getApiKey(orgB.id, aliceKeyB.id))?.revokedAt, T2, "the removed member's key in that organisation");
      assert.equal((await store.getApiKey(orgA.id, aliceKeyA.id))?.revokedAt, null, 'their key in another organisation stays');
      assert.equal((await store.getApiKey(orgA.id, bobKeyA.id))?.revokedAt, null);
      assert.equal(await store.deleteMembership(orgB.id, alice.id, T2), false, 'already removed');
    });

    void it('renames and rotates keys within their organisation only', async () => {
      const old = apiKey('key_rot', orgA.id, T0);
      await store.insertApiKey(old);
      assert.equal(await store.renameApiKey(orgB.id, old.id, 'stolen'), false, "another organisation's key");
      assert.equal(await store.renameApiKey(orgA.id, old.id, 'renamed'), true);
      assert.equal((await other.getApiKey(orgA.id, old.id))?.name, 'renamed');

      const next = apiKey('key_rot2', orgA.id, T1);
      assert.equal(await store.rotateApiKey(orgB.id, old.id, { ...next, orgId: orgB.id }, T1), false, "another organisation's key");
      assert.equal(await store.getApiKey(orgB.id, next.id), undefined, 'a refused rotation writes nothing');
      assert.equal(await store.rotateApiKey(orgA.id, old.id, next, T1), true);
      assert.equal((await store.getApiKey(orgA.id, old.id))?.revokedAt, T1);
      assert.deepEqual(await store.findApiKeyByHash(next.keyHash), next);
      const again = apiKey('key_rot3', orgA.id, T2);
      assert.equal(await other.rotateApiKey(orgA.id, old.id, again, T2), false, 'a revoked key cannot be rotated');
      assert.equal(await store.getApiKey(orgA.id, again.id), undefined);
      await assert.rejects(store.rotateApiKey(orgA.id, next.id, { ...again, keyHash: next.keyHash }, T2), DuplicateError);
      assert.equal((await store.getApiKey(orgA.id, next.id))?.revokedAt, null, 'a failed rotation leaves the old key live');
    });

    void it('gets and updates connectors by id within their organisation only', async () => {
      const c = connector('con_upd', orgA.id, 'updatable');
      await store.insertConnector(c);
      assert.deepEqual(await store.getConnector(orgA.id, c.id), c);
      assert.equal(await store.getConnector(orgB.id, c.id), undefined, "another organisation's connector");
      const rev = await store.connectorsRevision();
      const changed: ConnectorRecord = { ...c, name: 'updated', updatedAt: T2, transport: { type: 'http', url: 'https://new.example.com/mcp', headers: [] } };
      assert.equal(await store.updateConnector({ ...changed, orgId: orgB.id }), false, "another organisation's connector");
      assert.equal(await store.connectorsRevision(), rev);
      assert.equal(await store.updateConnector(changed), true);
      assert.notEqual(await other.connectorsRevision(), rev);
      assert.deepEqual(await other.getConnector(orgA.id, c.id), changed);
      await store.insertConnector(connector('con_taken', orgA.id, 'taken'));
      await assert.rejects(store.updateConnector({ ...changed, name: 'taken' }), DuplicateError);
    });

    void it('searches one chain by action, decision, actor and time, and finds a record by its hash', async () => {
      const org = 'org_search';
      const base = auditEvent(org, 1);
      const events = [
        { ...base, ts: T0, action: 'key.create', decision: 'allow' as const, actorKeyId: 'key_x' },
        { ...base, ts: T1, action: 'key.revoke', decision: 'deny' as const, actorKeyId: 'key_y' },
        { ...base, ts: T2, action: 'Key.create', decision: 'allow' as const, actorKeyId: 'key_x' },
        { ...base, ts: T2, action: 'connector.add', decision: 'allow' as const, actorKeyId: null, actorUser: 'cli:ops' },
      ];
      const records: AuditRecord[] = [];
      for (const e of events) records.push(await store.appendAudit(org, sealer(e)));
      const seqs = async (filter: Partial<Parameters<Store['searchAudit']>[1]>) =>
        (await other.searchAudit(org, { afterSeq: 0, limit: 100, ...filter })).map((r) => r.seq);
      assert.deepEqual(await seqs({}), [1, 2, 3, 4]);
      assert.deepEqual(await seqs({ action: 'key.create' }), [1]);
      assert.deepEqual(await seqs({ action: 'key.*' }), [1, 2], 'a prefix, compared case-sensitively');
      assert.deepEqual(await seqs({ action: 'key_*' }), [], 'no wildcard inside the prefix');
      assert.deepEqual(await seqs({ decision: 'deny' }), [2]);
      assert.deepEqual(await seqs({ actorKeyId: 'key_x' }), [1, 3]);
      assert.deepEqual(await seqs({ actorUser: 'cli:ops' }), [4]);
      assert.deepEqual(await seqs({ since: T1 }), [2, 3, 4]);
      assert.deepEqual(await seqs({ since: T1, until: T2 }), [2]);
      assert.deepEqual(await seqs({ afterSeq: 1, limit: 2 }), [2, 3]);
      assert.deepEqual(await store.searchAudit(orgA.id, { afterSeq: 0, limit: 100, action: 'connector.add' }), [], 'another chain');

      assert.deepEqual(await store.getAuditByHash(org, records[1]!.hash), records[1]);
      assert.equal(await store.getAuditByHash(orgA.id, records[1]!.hash), undefined, "another organisation's record");
    });

    void it('deletes an organisation: revokes its keys, removes its connectors and members, keeps its audit chain', async () => {
      const doomed: Organisation = { id: 'org_doomed', slug: 'doomed', name: 'Doomed', createdAt: T0, deletedAt: null };
      await store.createOrganisation(doomed);
      assert.equal(await store.renameOrganisation(doomed.id, 'Doomed Inc'), true);
      assert.equal(await store.renameOrganisation('org_none', 'x'), false);
      await store.insertApiKey(apiKey('key_doomed', doomed.id, T0));
      await store.insertConnector(connector('con_doomed', doomed.id, 'doomed'));
      await store.insertMembership({ orgId: doomed.id, userId: 'usr_alice', role: 'owner', createdAt: T0, updatedAt: T0 });
      await store.appendAudit(doomed.id, sealer(auditEvent(doomed.id, 1)));
      const rev = await store.connectorsRevision();

      assert.equal(await store.deleteOrganisation(doomed.id, T2), true);
      assert.equal(await other.deleteOrganisation(doomed.id, T2), false, 'already deleted');
      assert.deepEqual(await store.getOrganisation(doomed.id), { ...doomed, name: 'Doomed Inc', deletedAt: T2 });
      assert.equal(await store.renameOrganisation(doomed.id, 'Back'), false, 'a deleted organisation cannot be renamed');
      assert.equal((await store.getApiKey(doomed.id, 'key_doomed'))?.revokedAt, T2);
      assert.deepEqual(await store.listConnectors(doomed.id), []);
      assert.notEqual(await store.connectorsRevision(), rev);
      assert.deepEqual(await store.listMembers(doomed.id), []);
      assert.equal((await store.listAudit(doomed.id, 0, 10)).length, 1);
      assert.deepEqual(await store.getOrganisation(orgA.id), orgA, 'others untouched');
      assert.ok((await store.listMembers(orgA.id)).length > 0);
    });

    void it('refuses to change or remove audit records, even outside the store', async () => {
      const intact = await store.listAudit(orgA.id, 0, 100);
      assert.ok(intact.length > 0);
      for (const sql of fixture.refusedAuditStatements) {
        await assert.rejects(fixture.raw(sql), /append-only/, sql);
      }
      assert.deepEqual(await store.listAudit(orgA.id, 0, 100), intact);
    });
  });
}
