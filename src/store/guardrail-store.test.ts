// The store contract for guardrail settings (one document per organisation), on SQLite and PostgreSQL alike.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { orgA, orgB, postgresFixture, sqliteFixture, T1, T2, type Fixture } from '../../test/support/store-contract.ts';
import type { GuardrailSettings } from './guardrail-types.ts';
import type { Store } from './types.ts';

const settings: GuardrailSettings = {
  orgId: orgA.id,
  document: { pii: { action: 'redact', direction: 'post' }, connectors: { fx: { inputSchema: false } }, denyRules: [{ id: 'no-drop', tool: 'db/*', path: '$.sql', pattern: 'drop\\s+table' }] },
  updatedAt: T1,
};

for (const [name, makeFixture] of [['SqliteStore', sqliteFixture], ['PostgresStore', postgresFixture]] as const) {
  void describe(`${name} guardrail settings`, () => {
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
    });

    after(async () => {
      await Promise.all([store.close(), other.close()]);
      await fixture.cleanup();
    });

    void it('keeps one document per organisation, replaced whole, and another organisation has none', async () => {
      assert.equal(await store.guardrailSettings.getGuardrailSettings(orgA.id), undefined);
      await store.guardrailSettings.setGuardrailSettings(settings);
      assert.deepEqual(await other.guardrailSettings.getGuardrailSettings(orgA.id), settings);
      const replaced: GuardrailSettings = { ...settings, document: { secrets: { action: 'block', direction: 'both' } }, updatedAt: T2 };
      await store.guardrailSettings.setGuardrailSettings(replaced);
      assert.deepEqual(await other.guardrailSettings.getGuardrailSettings(orgA.id), replaced);
      assert.equal(await other.guardrailSettings.getGuardrailSettings(orgB.id), undefined);
      assert.deepEqual((await other.guardrailSettings.listAllGuardrailSettings()).map((s) => s.orgId), [orgA.id]);
    });

    void it('moves the access revision on every change, so every replica reloads', async () => {
      const before = await other.accessRevision();
      await store.guardrailSettings.setGuardrailSettings({ ...settings, updatedAt: T2 });
      assert.ok((await other.accessRevision()) > before);
    });
  });
}
