// The store contract for Cedar policy sets, on SQLite and PostgreSQL alike.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { orgA, orgB, T0, T1, forEachDialect } from '../../test/support/store-contract.ts';

forEachDialect('policy sets', (db) => {
  void it('numbers versions per organisation, keeps every one, and a cleared set is a version without text', async () => {
    assert.equal(await db.store.policies.currentPolicySet(orgA.id), undefined);
    const v1 = await db.store.policies.savePolicySet(orgA.id, 'permit(principal, action, resource);', 'usr_1', T0);
    assert.deepEqual(v1, { orgId: orgA.id, version: 1, text: 'permit(principal, action, resource);', createdBy: 'usr_1', createdAt: T0 });
    const b1 = await db.other.policies.savePolicySet(orgB.id, 'forbid(principal, action, resource);', 'cli:bob', T0);
    assert.equal(b1.version, 1);
    const v2 = await db.other.policies.savePolicySet(orgA.id, null, 'cli:alice', T1);
    assert.deepEqual([v2.version, v2.text], [2, null]);
    assert.deepEqual(await db.store.policies.currentPolicySet(orgA.id), v2);
    assert.deepEqual(await db.store.policies.getPolicySetVersion(orgA.id, 1), v1);
    assert.equal(await db.store.policies.getPolicySetVersion(orgB.id, 2), undefined);
    assert.deepEqual((await db.store.policies.listPolicySetVersions(orgA.id)).map((v) => v.version), [2, 1]);
    const current = await db.store.policies.listCurrentPolicySets();
    assert.deepEqual(current.map((v) => [v.orgId, v.version]).sort(), [[orgA.id, 2], [orgB.id, 1]].sort());
  });

  void it('a saved version moves the access revision, which the data path watches', async () => {
    const before = await db.other.accessRevision();
    await db.store.policies.savePolicySet(orgB.id, 'permit(principal, action, resource);', 'usr_1', T1);
    assert.ok((await db.other.accessRevision()) > before);
  });
});
