import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  apiKey, assertLinked, auditEvent, connector, orgA, orgB, postgresFixture, sealer, sqliteFixture, T0, T1, T2, virtualServer, type Fixture, type Head,
} from '../../test/support/store-contract.ts';
import { DuplicateError, type AuditRecord, type ConnectorRecord, type Store } from './types.ts';

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
      assert.equal(await store.virtualServersRevision(), 0);
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
      const k3 = apiKey('key_3', orgB.id, T0, { role: 'viewer', servers: ['docs', 'ops'] });
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

    void it('keeps the servers a key is restricted to: null (unrestricted) and an empty list stay apart', async () => {
      const none = apiKey('key_srv_1', orgA.id, T0, { servers: [] });
      const some = apiKey('key_srv_2', orgA.id, T0, { servers: ['ops', 'docs'] });
      await store.insertApiKey(none);
      await store.insertApiKey(some);
      assert.deepEqual(await other.getApiKey(orgA.id, none.id), none);
      assert.deepEqual(await other.findApiKeyByHash(some.keyHash), some);
      assert.deepEqual((await store.getApiKey(orgA.id, 'key_2'))?.servers, null);
      const rows = await fixture.raw("SELECT id FROM api_keys WHERE servers IS NULL ORDER BY id");
      assert.deepEqual(rows.map((r) => r.id), ['key_1', 'key_2'], 'unrestricted is SQL NULL, not the JSON text null');
    });

    void it('stores virtual servers, scoped by organisation, and bumps their revision alone', async () => {
      const docs = virtualServer('vs_1', orgA.id, 'docs', { tools: ['files/read_*', 'files/list'], resources: ['files'], unprefixed: true });
      const all = virtualServer('vs_2', orgA.id, 'all', { description: '', tools: ['*'], prompts: ['*'], resources: ['*'] });
      const docsB = virtualServer('vs_3', orgB.id, 'docs', { tools: [], prompts: [], resources: ['github'] });
      const connectors = await store.connectorsRevision();
      const rev0 = await store.virtualServersRevision();
      await store.createVirtualServer(docs);
      const rev1 = await other.virtualServersRevision();
      assert.notEqual(rev1, rev0);
      await store.createVirtualServer(all);
      await other.createVirtualServer(docsB);
      const rev2 = await store.virtualServersRevision();
      assert.notEqual(rev2, rev1);

      await assert.rejects(store.createVirtualServer({ ...docs, id: 'vs_4' }), DuplicateError, 'same name, same organisation');
      await assert.rejects(store.createVirtualServer({ ...docsB, name: 'other' }), DuplicateError, 'same id');
      assert.equal(await store.virtualServersRevision(), rev2, 'a refused insert leaves the revision');

      assert.deepEqual(await store.getVirtualServer(orgA.id, 'docs'), docs);
      assert.deepEqual(await other.getVirtualServer(orgA.id, 'all'), all);
      assert.deepEqual(await store.getVirtualServer(orgB.id, 'docs'), docsB);
      assert.equal(await store.getVirtualServer(orgB.id, 'all'), undefined, "another organisation's server");
      assert.equal(await store.getVirtualServer(orgA.id, 'vs_2'), undefined, 'looked up by name, not id');
      assert.deepEqual(await store.listVirtualServers(orgA.id), [all, docs]);
      assert.deepEqual(await store.listVirtualServers(orgB.id), [docsB]);
      assert.deepEqual(await store.listVirtualServers('org_none'), []);
      assert.deepEqual(await store.listAllVirtualServers(), [all, docs, docsB]);

      assert.equal(await store.updateVirtualServer(orgB.id, docs.id, { tools: ['*'] }), undefined, "another organisation's server");
      assert.equal(await store.deleteVirtualServer(orgB.id, docs.id), false, "another organisation's server");
      assert.deepEqual(await store.getVirtualServer(orgA.id, 'docs'), docs);
      assert.equal(await store.virtualServersRevision(), rev2);

      const beforeUpdate = new Date().toISOString();
      const updated = await store.updateVirtualServer(orgA.id, docs.id, { description: '', prompts: [], tools: ['github/*'], unprefixed: false });
      assert.ok(updated !== undefined);
      assert.ok(updated.updatedAt >= beforeUpdate, 'updatedAt is the time of the update');
      assert.deepEqual(updated, { ...docs, description: '', prompts: [], tools: ['github/*'], unprefixed: false, updatedAt: updated.updatedAt });
      assert.deepEqual(await other.getVirtualServer(orgA.id, 'docs'), updated);
      const rev3 = await store.virtualServersRevision();
      assert.notEqual(rev3, rev2);
      const touched = await store.updateVirtualServer(orgA.id, all.id, {});
      assert.deepEqual(touched, { ...all, updatedAt: touched?.updatedAt }, 'an empty patch changes nothing but the time');
      assert.notEqual(await store.virtualServersRevision(), rev3);

      assert.equal(await store.deleteVirtualServer(orgA.id, docs.id), true);
      const rev4 = await other.virtualServersRevision();
      assert.notEqual(rev4, rev3);
      assert.equal(await store.deleteVirtualServer(orgA.id, docs.id), false);
      assert.equal(await store.updateVirtualServer(orgA.id, docs.id, { tools: ['*'] }), undefined);
      assert.equal(await store.virtualServersRevision(), rev4);
      assert.deepEqual((await store.listAllVirtualServers()).map((v) => v.id), [all.id, docsB.id]);
      assert.equal(await store.connectorsRevision(), connectors, 'connectors are not reloaded for a virtual server change');
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
      await assert.rejects(store.appendAudit(orgA.id, () => { throw new Error('sealer broke'); }), /sealer broke|sealed as version 2/, 'PostgreSQL refuses a sealer without its content commitment before writing');
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

    void it('upgrades a version-1 database: its keys become unrestricted service keys and it has no virtual servers', async () => {
      const old = makeFixture();
      try {
        await old.exec(`${old.schemaAt(1)}
          INSERT INTO organisations (id, slug, name, created_at) VALUES ('${orgA.id}', '${orgA.slug}', '${orgA.name}', '${T0}');
          INSERT INTO api_keys (id, org_id, name, key_hash, display_prefix, role, scopes, created_by, created_at)
          VALUES ('key_old', '${orgA.id}', 'old', '${'a'.repeat(64)}', 'gth_old', 'admin', '["*"]', 'alice', '${T1}');`);
        const upgraded = old.open();
        try {
          await upgraded.migrate();
          const versions = await old.raw('SELECT version FROM schema_migrations ORDER BY version');
          assert.deepEqual(versions.map((r) => Number(r.version)), Array.from({ length: old.migrations }, (_, i) => i + 1));
          assert.deepEqual(await upgraded.getOrganisation(orgA.id), orgA);
          assert.deepEqual(await upgraded.getApiKey(orgA.id, 'key_old'), {
            id: 'key_old', orgId: orgA.id, userId: null, name: 'old', keyHash: 'a'.repeat(64), displayPrefix: 'gth_old', role: 'admin', scopes: ['*'],
            servers: null, cidrs: null, createdBy: 'alice', createdAt: T1, expiresAt: null, revokedAt: null,
            rotationDays: null, rotationDueReported: null, retiresAt: null, policyExempt: false,
          });
          assert.deepEqual(await upgraded.listAllVirtualServers(), []);
          assert.equal(await upgraded.virtualServersRevision(), 0);
        } finally {
          await upgraded.close();
        }
      } finally {
        await old.cleanup();
      }
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
