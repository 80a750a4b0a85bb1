// The store contract for tool pinning and read-only connectors, on SQLite and PostgreSQL alike.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { connector, orgA, orgB, T0, T1, forEachDialect } from '../../test/support/store-contract.ts';
import type { ToolPinRecord } from './pinning-types.ts';

function pin(orgId: string, connectorId: string, tool: string, overrides: Partial<ToolPinRecord> = {}): ToolPinRecord {
  return {
    orgId, connectorId, tool, status: 'approved', approvedFingerprint: 'a'.repeat(64), approvedDefinition: `{"name":"${tool}"}`,
    pendingFingerprint: null, pendingDefinition: null, findings: null, classification: null, reviewedBy: 'gateway', updatedAt: T0, ...overrides,
  };
}

forEachDialect(
  'tool pinning',
  (db) => {
    void it('keeps pins per organisation and connector, replaces them whole, and moves the revision with every write', async () => {
      const r0 = await db.other.pinning.pinningRevision();
      const approved = pin(orgA.id, 'con_p1', 'forecast');
      await db.store.pinning.putToolPin(approved);
      const r1 = await db.other.pinning.pinningRevision();
      assert.ok(r1 > r0);
      assert.deepEqual(await db.other.pinning.getToolPin(orgA.id, 'con_p1', 'forecast'), approved);
      assert.equal(await db.other.pinning.getToolPin(orgB.id, 'con_p1', 'forecast'), undefined, 'another organisation sees nothing');

      const pending = { ...approved, status: 'pending' as const, pendingFingerprint: 'b'.repeat(64), pendingDefinition: '{"name":"forecast","description":"new"}',
        findings: '[{"rule":"hidden-characters","place":"description"}]', classification: 'read' as const, reviewedBy: null, updatedAt: T1 };
      await db.other.pinning.putToolPin(pending);
      assert.ok((await db.store.pinning.pinningRevision()) > r1);
      assert.deepEqual(await db.store.pinning.getToolPin(orgA.id, 'con_p1', 'forecast'), pending);
      await db.store.pinning.putToolPin(pin(orgB.id, 'con_p2', 'forecast', { status: 'rejected', approvedFingerprint: null, approvedDefinition: null, pendingFingerprint: 'c'.repeat(64), pendingDefinition: '{}' }));
      assert.deepEqual((await db.store.pinning.listToolPins(orgA.id)).map((p) => p.tool), ['forecast']);
      assert.deepEqual((await db.store.pinning.listAllToolPins()).map((p) => `${p.orgId}/${p.status}`).sort(), [`${orgA.id}/pending`, `${orgB.id}/rejected`].sort());
    });

    void it('refuses a status or a classification it does not know', async () => {
      await assert.rejects(db.store.pinning.putToolPin(pin(orgA.id, 'con_p1', 'bad', { status: 'maybe' as never })));
      await assert.rejects(db.store.pinning.putToolPin(pin(orgA.id, 'con_p1', 'bad', { classification: 'delete' as never })));
    });

    void it('keeps settings per connector (and the organisation default under *), auto-approval null meaning inherit', async () => {
      const r0 = await db.store.pinning.pinningRevision();
      await db.store.pinning.putPinSettings({ orgId: orgA.id, connectorId: 'con_p1', readOnly: true, autoApproveFirstSync: null, updatedAt: T0 });
      await db.other.pinning.putPinSettings({ orgId: orgA.id, connectorId: '*', readOnly: false, autoApproveFirstSync: false, updatedAt: T1 });
      assert.ok((await db.store.pinning.pinningRevision()) > r0);
      assert.deepEqual(await db.other.pinning.getPinSettings(orgA.id, 'con_p1'), { orgId: orgA.id, connectorId: 'con_p1', readOnly: true, autoApproveFirstSync: null, updatedAt: T0 });
      await db.store.pinning.putPinSettings({ orgId: orgA.id, connectorId: 'con_p1', readOnly: false, autoApproveFirstSync: true, updatedAt: T1 });
      assert.deepEqual(await db.other.pinning.getPinSettings(orgA.id, 'con_p1'), { orgId: orgA.id, connectorId: 'con_p1', readOnly: false, autoApproveFirstSync: true, updatedAt: T1 });
      assert.equal(await db.other.pinning.getPinSettings(orgB.id, 'con_p1'), undefined);
      assert.equal((await db.store.pinning.listAllPinSettings()).length, 2);
    });

    void it("removes a connector's pins with the connector", async () => {
      await db.store.insertConnector(connector('con_p3', orgA.id, 'gone'));
      await db.store.pinning.putToolPin(pin(orgA.id, 'con_p3', 'x'));
      assert.ok(await db.store.deleteConnector(orgA.id, 'con_p3'));
      assert.equal(await db.other.pinning.getToolPin(orgA.id, 'con_p3', 'x'), undefined);
    });
  },
  async (store) => {
  await store.insertConnector(connector('con_p1', orgA.id, 'weather'));
  await store.insertConnector(connector('con_p2', orgB.id, 'weather'));
},
);
