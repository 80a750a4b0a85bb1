/** The store contract for people and the control plane: users, memberships, key rotation, audit search, organisation deletion. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  apiKey, auditEvent, connector, orgA, orgB, postgresFixture, sealer, sqliteFixture, T0, T1, T2, virtualServer, type Fixture,
} from '../../test/support/store-contract.ts';
import { DuplicateError, type AuditRecord, type ConnectorRecord, type MembershipRecord, type Organisation, type Store, type UserRecord } from './types.ts';

for (const [name, makeFixture] of [['SqliteStore', sqliteFixture], ['PostgresStore', postgresFixture]] as const) {
  void describe(`${name}: identity`, () => {
    let fixture: Fixture;
    let store: Store;
    let other: Store; // a second store on the same database, as a CLI or another replica would have

    before(async () => {
      fixture = makeFixture();
      store = fixture.open();
      other = fixture.open();
      await Promise.all([store.migrate(), other.migrate()]);
      await store.createOrganisation(orgA);
      await store.createOrganisation(orgB);
    });

    after(async () => {
      await Promise.all([store.close(), other.close()]);
      await fixture.cleanup();
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
      // The operator's private-network allowance (egress) is part of the transport and survives the round trip.
      const changed: ConnectorRecord = { ...c, name: 'updated', updatedAt: T2, transport: { type: 'http', url: 'https://new.example.com/mcp', headers: [], allowPrivateNetwork: true } };
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

    void it('finds by hash the records a version-6 database holds, once migrated (migration 7 replaced the SQLite hash index)', async () => {
      const old = makeFixture();
      try {
        await old.exec(old.schemaAt(6));
        const upgraded = old.open();
        try {
          const org = 'org_hash_upgrade';
          // Written as a version-6 gateway wrote them: the columns of that schema only (no `detail`, no `salt`).
          const written: AuditRecord[] = [];
          for (let i = 1; i <= 3; i++) {
            const r: AuditRecord = { ...sealer(auditEvent(org, i))(written.at(-1)), salt: null };
            written.push(r);
            const { detail, ...v6 } = r;
            assert.equal(detail, null);
            await old.exec(`INSERT INTO audit_events (${V6_AUDIT_COLUMNS.join(', ')}) VALUES (${V6_AUDIT_COLUMNS.map((c) => sqlLiteral(v6[COLUMN_FIELDS[c]])).join(', ')})`);
          }
          await upgraded.migrate();
          for (const r of written) assert.deepEqual(await upgraded.getAuditByHash(org, r.hash), r);
          const after = await upgraded.appendAudit(org, sealer(auditEvent(org, 4)));
          assert.equal(after.prevHash, written[2]!.hash, 'the chain continues across the upgrade');
          assert.deepEqual(await upgraded.getAuditByHash(org, after.hash), after);
          assert.equal(await upgraded.getAuditByHash(org, `${after.hash.slice(0, 16)}${'0'.repeat(48)}`), undefined, 'the same prefix is not the same hash');
          assert.equal(await upgraded.getAuditByHash('org_other', after.hash), undefined, "another organisation's record");
        } finally {
          await upgraded.close();
        }
      } finally {
        await old.cleanup();
      }
    });

    void it('deletes an organisation: revokes its keys, removes its connectors, virtual servers and members, keeps its audit chain', async () => {
      const doomed: Organisation = { id: 'org_doomed', slug: 'doomed', name: 'Doomed', createdAt: T0, deletedAt: null };
      await store.createOrganisation(doomed);
      assert.equal(await store.renameOrganisation(doomed.id, 'Doomed Inc'), true);
      assert.equal(await store.renameOrganisation('org_none', 'x'), false);
      await store.insertApiKey(apiKey('key_doomed', doomed.id, T0));
      await store.insertConnector(connector('con_doomed', doomed.id, 'doomed'));
      await store.insertMembership({ orgId: doomed.id, userId: 'usr_alice', role: 'owner', createdAt: T0, updatedAt: T0 });
      await store.createVirtualServer(virtualServer('vs_doomed', doomed.id, 'doomed'));
      await store.appendAudit(doomed.id, sealer(auditEvent(doomed.id, 1)));
      const rev = await store.connectorsRevision();
      const serversRev = await store.virtualServersRevision();

      assert.equal(await store.deleteOrganisation(doomed.id, T2), true);
      assert.equal(await other.deleteOrganisation(doomed.id, T2), false, 'already deleted');
      assert.deepEqual(await store.getOrganisation(doomed.id), { ...doomed, name: 'Doomed Inc', deletedAt: T2 });
      assert.equal(await store.renameOrganisation(doomed.id, 'Back'), false, 'a deleted organisation cannot be renamed');
      assert.equal((await store.getApiKey(doomed.id, 'key_doomed'))?.revokedAt, T2);
      assert.deepEqual(await store.listConnectors(doomed.id), []);
      assert.notEqual(await store.connectorsRevision(), rev);
      assert.deepEqual(await store.listVirtualServers(doomed.id), []);
      assert.notEqual(await store.virtualServersRevision(), serversRev);
      assert.deepEqual(await store.listMembers(doomed.id), []);
      assert.equal((await store.listAudit(doomed.id, 0, 10)).length, 1);
      assert.deepEqual(await store.getOrganisation(orgA.id), orgA, 'others untouched');
      assert.ok((await store.listMembers(orgA.id)).length > 0);
    });

    void it('upgrades a version-2 database: its keys act for no user and keep their servers, its organisations stay live', async () => {
      const old = makeFixture();
      try {
        await old.exec(`${old.schemaAt(2)}
          INSERT INTO organisations (id, slug, name, created_at) VALUES ('${orgA.id}', '${orgA.slug}', '${orgA.name}', '${T0}');
          INSERT INTO api_keys (id, org_id, name, key_hash, display_prefix, role, scopes, servers, created_by, created_at)
          VALUES ('key_old', '${orgA.id}', 'old', '${'a'.repeat(64)}', 'gth_old', 'viewer', '["*"]', '["docs"]', 'alice', '${T1}');
          INSERT INTO virtual_servers (id, org_id, name, description, tools, prompts, resources, unprefixed, created_at, updated_at)
          VALUES ('vs_old', '${orgA.id}', 'docs', 'Docs', '["*"]', '[]', '[]', CAST(0 AS BOOLEAN), '${T0}', '${T1}');`);
        const upgraded = old.open();
        try {
          await upgraded.migrate();
          const versions = await old.raw('SELECT version FROM schema_migrations ORDER BY version');
          assert.deepEqual(versions.map((r) => Number(r.version)), Array.from({ length: old.migrations }, (_, i) => i + 1));
          assert.deepEqual(await upgraded.getOrganisation(orgA.id), orgA);
          assert.deepEqual(await upgraded.getApiKey(orgA.id, 'key_old'), {
            id: 'key_old', orgId: orgA.id, userId: null, name: 'old', keyHash: 'a'.repeat(64), displayPrefix: 'gth_old', role: 'viewer',
            scopes: ['*'], servers: ['docs'], cidrs: null, createdBy: 'alice', createdAt: T1, expiresAt: null, revokedAt: null,
            rotationDays: null, rotationDueReported: null, retiresAt: null, policyExempt: false,
          });
          assert.deepEqual(await upgraded.getVirtualServer(orgA.id, 'docs'), virtualServer('vs_old', orgA.id, 'docs', {
            description: 'Docs', tools: ['*'], prompts: [], resources: [],
          }));
          assert.deepEqual(await upgraded.listMembers(orgA.id), []);
        } finally {
          await upgraded.close();
        }
      } finally {
        await old.cleanup();
      }
    });
  });
}

const COLUMN_FIELDS = {
  org_id: 'orgId', seq: 'seq', ts: 'ts', actor_key_id: 'actorKeyId', actor_user: 'actorUser', client_ip: 'clientIp', action: 'action',
  target_connector: 'targetConnector', target_name: 'targetName', decision: 'decision', reason: 'reason', latency_ms: 'latencyMs',
  correlation_id: 'correlationId', args: 'args', prev_hash: 'prevHash', hash: 'hash',
} as const satisfies Record<string, keyof AuditRecord>;
const V6_AUDIT_COLUMNS = Object.keys(COLUMN_FIELDS) as (keyof typeof COLUMN_FIELDS)[];

function sqlLiteral(v: string | number | null): string {
  return v === null ? 'NULL' : typeof v === 'number' ? String(v) : `'${v.replaceAll("'", "''")}'`;
}
