// The store contract for key policies (one row per organisation), on SQLite and PostgreSQL alike.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { orgA, orgB, postgresFixture, sqliteFixture, T1, T2, type Fixture } from '../../test/support/store-contract.ts';
import type { KeyPolicy } from './key-policy-types.ts';
import type { Store } from './types.ts';

for (const [name, makeFixture] of [['SqliteStore', sqliteFixture], ['PostgresStore', postgresFixture]] as const) {
  void describe(`${name} key policies`, () => {
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

    void it('keeps one policy per organisation, replaced whole, and another organisation has none', async () => {
      assert.equal(await store.keyPolicies.getKeyPolicy(orgA.id), undefined);
      const policy: KeyPolicy = { orgId: orgA.id, maxLifetimeDays: 90, wildcard: 'with_expiry', updatedAt: T1 };
      await store.keyPolicies.setKeyPolicy(policy);
      assert.deepEqual(await other.keyPolicies.getKeyPolicy(orgA.id), policy);
      const replaced: KeyPolicy = { orgId: orgA.id, maxLifetimeDays: null, wildcard: 'refused', updatedAt: T2 };
      await store.keyPolicies.setKeyPolicy(replaced);
      assert.deepEqual(await other.keyPolicies.getKeyPolicy(orgA.id), replaced);
      assert.equal(await store.keyPolicies.getKeyPolicy(orgB.id), undefined);
    });

    void it('refuses what the schema does not allow, keeping the stored policy', async () => {
      await assert.rejects(store.keyPolicies.setKeyPolicy({ orgId: orgA.id, maxLifetimeDays: 0, wildcard: 'allowed', updatedAt: T2 }));
      await assert.rejects(store.keyPolicies.setKeyPolicy({ orgId: orgA.id, maxLifetimeDays: null, wildcard: 'sometimes' as 'allowed', updatedAt: T2 }));
      await assert.rejects(store.keyPolicies.setKeyPolicy({ orgId: 'org_nobody', maxLifetimeDays: null, wildcard: 'allowed', updatedAt: T2 }));
      assert.equal((await store.keyPolicies.getKeyPolicy(orgA.id))?.wildcard, 'refused');
    });
  });
}
