// The store contract for traffic settings (limits, key tiers, deny lists), on SQLite and PostgreSQL alike.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { orgA, orgB, postgresFixture, sqliteFixture, T1, T2, type Fixture } from '../../test/support/store-contract.ts';
import type { TrafficSettings } from './traffic-types.ts';
import type { Store } from './types.ts';

const settings: TrafficSettings = {
  orgId: orgA.id,
  orgLimit: '100/s',
  toolLimits: [{ pattern: 'github/create_*', limit: '5/m' }],
  keyTiers: { key_1: '5', key_2: 'unlimited' },
  approvals: ['github/delete_*'],
  deny: { mcp: ['203.0.113.0/24'], api: [] },
  updatedAt: T1,
};

for (const [name, makeFixture] of [['SqliteStore', sqliteFixture], ['PostgresStore', postgresFixture]] as const) {
  void describe(`${name} traffic settings`, () => {
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
      assert.equal(await store.trafficSettings.getTrafficSettings(orgA.id), undefined);
      await store.trafficSettings.setTrafficSettings(settings);
      assert.deepEqual(await other.trafficSettings.getTrafficSettings(orgA.id), settings);
      const replaced: TrafficSettings = { ...settings, orgLimit: null, keyTiers: { key_1: '10' }, updatedAt: T2 };
      await store.trafficSettings.setTrafficSettings(replaced);
      assert.deepEqual(await other.trafficSettings.getTrafficSettings(orgA.id), replaced);
      assert.equal(await other.trafficSettings.getTrafficSettings(orgB.id), undefined);
      assert.deepEqual(
        (await other.trafficSettings.listAllTrafficSettings()).map((s) => s.orgId),
        [orgA.id],
      );
    });

    void it('moves the access revision on every change, so every replica reloads', async () => {
      const before = await other.accessRevision();
      await store.trafficSettings.setTrafficSettings({ ...settings, updatedAt: T2 });
      assert.ok((await other.accessRevision()) > before);
    });
  });
}
