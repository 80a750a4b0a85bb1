// The store contract for tool pinning and read-only connectors, on SQLite and PostgreSQL alike.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connector, orgA, orgB, postgresFixture, sqliteFixture, T0, T1, type Fixture } from '../../test/support/store-contract.ts';
import type { ToolPinRecord } from './pinning-types.ts';
import type { Store } from './types.ts';

function pin(orgId: string, connectorId: string, tool: string, overrides: Partial<ToolPinRecord> = {}): ToolPinRecord {
  return {
    orgId, connectorId, tool, status: 'approved', approvedFingerprint: 'a'.repeat(64), approvedDefinition: `{"name":"${tool}"}`,
    pendingFingerprint: null, pendingDefinition: null, findings: null, classification: null, reviewedBy: 'gateway', updatedAt: T0, ...overrides,
  };
}

for (const [name, makeFixture] of [['SqliteStore', sqliteFixture], ['PostgresStore', postgresFixture]] as const) {
  void describe(`${name} tool pinning`, () => {
    let fixture: Fixture;
    let store: Store;
    let other: Store;

    before(async () => {
      fixture = makeFixture();
      store = fixture.open();
      other = fixture.open();
      await store.migrate();
      await other.migrate();
      await store.createOrganisation(orgA);
      await store.createOrganisation(orgB);
      await store.insertConnector(connector('con_p1', orgA.id, 'weather'));
      await store.insertConnector(connector('con_p2', orgB.id, 'weather'));
    });

    after(async () => {
      await Promise.all([store.close(), other.close()]);
      await fixture.cleanup();
    });

    void it('keeps pins per organisation and connector, replaces them whole, and moves the revision with every write', async () => {
      const r0 = await other.pinning.pinningRevision();
      const approved = pin(orgA.id, 'con_p1', 'forecast');
      await store.pinning.putToolPin(approved);
      const r1 = await other.pinning.pinningRevision();
      assert.ok(r1 > r0);
      assert.deepEqual(await other.pinning.getToolPin(orgA.id, 'con_p1', 'forecast'), approved);
      assert.equal(await other.pinning.getToolPin(orgB.id, 'con_p1', 'forecast'), undefined, 'another organisation sees nothing');

      const pending = { ...approved, status: 'pending' as const, pendingFingerprint: 'b'.repeat(64), pendingDefinition: '{"name":"forecast","description":"new"}',
        findings: '[{"rule":"hidden-characters","place":"description"}]', classification: 'read' as const, reviewedBy: null, updatedAt: T1 };
      await other.pinning.putToolPin(pending);
      assert.ok((await store.pinning.pinningRevision()) > r1);
      assert.deepEqual(await store.pinning.getToolPin(orgA.id, 'con_p1', 'forecast'), pending);
      await store.pinning.putToolPin(pin(orgB.id, 'con_p2', 'forecast', { status: 'rejected', approvedFingerprint: null, approvedDefinition: null, pendingFingerprint: 'c'.repeat(64), pendingDefinition: '{}' }));
      assert.deepEqual((await store.pinning.listToolPins(orgA.id)).map((p) => p.tool), ['forecast']);
      assert.deepEqual((await store.pinning.listAllToolPins()).map((p) => `${p.orgId}/${p.status}`).sort(), [`${orgA.id}/pending`, `${orgB.id}/rejected`].sort());
    });

    void it('refuses a status or a classification it does not know', async () => {
      await assert.rejects(store.pinning.putToolPin(pin(orgA.id, 'con_p1', 'bad', { status: 'maybe' as never })));
      await assert.rejects(store.pinning.putToolPin(pin(orgA.id, 'con_p1', 'bad', { classification: 'delete' as never })));
    });

    void it('keeps settings per connector (and the organisation default under *), auto-approval null meaning inherit', async () => {
      const r0 = await store.pinning.pinningRevision();
      await store.pinning.putPinSettings({ orgId: orgA.id, connectorId: 'con_p1', readOnly: true, autoApproveFirstSync: null, updatedAt: T0 });
      await other.pinning.putPinSettings({ orgId: orgA.id, connectorId: '*', readOnly: false, autoApproveFirstSync: false, updatedAt: T1 });
      assert.ok((await store.pinning.pinningRevision()) > r0);
      assert.deepEqual(await other.pinning.getPinSettings(orgA.id, 'con_p1'), { orgId: orgA.id, connectorId: 'con_p1', readOnly: true, autoApproveFirstSync: null, updatedAt: T0 });
      await store.pinning.putPinSettings({ orgId: orgA.id, connectorId: 'con_p1', readOnly: false, autoApproveFirstSync: true, updatedAt: T1 });
      assert.deepEqual(await other.pinning.getPinSettings(orgA.id, 'con_p1'), { orgId: orgA.id, connectorId: 'con_p1', readOnly: false, autoApproveFirstSync: true, updatedAt: T1 });
      assert.equal(await other.pinning.getPinSettings(orgB.id, 'con_p1'), undefined);
      assert.equal((await store.pinning.listAllPinSettings()).length, 2);
    });

    void it("removes a connector's pins with the connector", async () => {
      await store.insertConnector(connector('con_p3', orgA.id, 'gone'));
      await store.pinning.putToolPin(pin(orgA.id, 'con_p3', 'x'));
      assert.ok(await store.deleteConnector(orgA.id, 'con_p3'));
      assert.equal(await other.pinning.getToolPin(orgA.id, 'con_p3', 'x'), undefined);
    });
  });
}
