// The store contract for Cedar policy sets, on SQLite and PostgreSQL alike.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { orgA, orgB, postgresFixture, sqliteFixture, T0, T1, type Fixture } from '../../test/support/store-contract.ts';
import type { Store } from './types.ts';

for (const [name, makeFixture] of [['SqliteStore', sqliteFixture], ['PostgresStore', postgresFixture]] as const) {
  void describe(`${name} policy sets`, () => {
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

    void it('numbers versions per organisation, keeps every one, and a cleared set is a version without text', async () => {
      assert.equal(await store.policies.currentPolicySet(orgA.id), undefined);
      const v1 = await store.policies.savePolicySet(orgA.id, 'permit(principal, action, resource);', 'usr_1', T0);
      assert.deepEqual(v1, { orgId: orgA.id, version: 1, text: 'permit(principal, action, resource);', createdBy: 'usr_1', createdAt: T0 });
      const b1 = await other.policies.savePolicySet(orgB.id, 'forbid(principal, action, resource);', 'cli:bob', T0);
      assert.equal(b1.version, 1);
      const v2 = await other.policies.savePolicySet(orgA.id, null, 'cli:alice', T1);
      assert.deepEqual([v2.version, v2.text], [2, null]);
      assert.deepEqual(await store.policies.currentPolicySet(orgA.id), v2);
      assert.deepEqual(await store.policies.getPolicySetVersion(orgA.id, 1), v1);
      assert.equal(await store.policies.getPolicySetVersion(orgB.id, 2), undefined);
      assert.deepEqual((await store.policies.listPolicySetVersions(orgA.id)).map((v) => v.version), [2, 1]);
      const current = await store.policies.listCurrentPolicySets();
      assert.deepEqual(current.map((v) => [v.orgId, v.version]).sort(), [[orgA.id, 2], [orgB.id, 1]].sort());
    });

    void it('a saved version moves the access revision, which the data path watches', async () => {
      const before = await other.accessRevision();
      await store.policies.savePolicySet(orgB.id, 'permit(principal, action, resource);', 'usr_1', T1);
      assert.ok((await other.accessRevision()) > before);
    });
  });
}
