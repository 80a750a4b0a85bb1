// The store contract for traffic settings (limits, key tiers, deny lists), on SQLite and PostgreSQL alike.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { orgA, orgB, T1, T2, forEachDialect } from '../../test/support/store-contract.ts';
import type { TrafficSettings } from './traffic-types.ts';

const settings: TrafficSettings = {
  orgId: orgA.id,
  orgLimit: '100/s',
  addressLimit: '300/m',
  toolLimits: [{ pattern: 'github/create_*', limit: '5/m' }],
  keyTiers: { key_1: '5', key_2: 'unlimited' },
  approvals: ['github/delete_*'],
  deny: { mcp: ['203.0.113.0/24'], api: [] },
  quotas: { perKey: { session: 2, process: 1 }, perOrg: { stream: 10 } },
  updatedAt: T1,
};

forEachDialect('traffic settings', (db) => {
  void it('keeps one document per organisation, replaced whole, and another organisation has none', async () => {
    assert.equal(await db.store.trafficSettings.getTrafficSettings(orgA.id), undefined);
    await db.store.trafficSettings.setTrafficSettings(settings);
    assert.deepEqual(await db.other.trafficSettings.getTrafficSettings(orgA.id), settings);
    const replaced: TrafficSettings = { ...settings, orgLimit: null, keyTiers: { key_1: '10' }, updatedAt: T2 };
    await db.store.trafficSettings.setTrafficSettings(replaced);
    assert.deepEqual(await db.other.trafficSettings.getTrafficSettings(orgA.id), replaced);
    assert.equal(await db.other.trafficSettings.getTrafficSettings(orgB.id), undefined);
    assert.deepEqual(
      (await db.other.trafficSettings.listAllTrafficSettings()).map((s) => s.orgId),
      [orgA.id],
    );
  });

  void it('moves the access revision on every change, so every replica reloads', async () => {
    const before = await db.other.accessRevision();
    await db.store.trafficSettings.setTrafficSettings({ ...settings, updatedAt: T2 });
    assert.ok((await db.other.accessRevision()) > before);
  });
});
