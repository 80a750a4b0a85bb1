// The store contract for key policies (one row per organisation), on SQLite and PostgreSQL alike.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { forEachDialect, orgA, orgB, T1, T2 } from '../../test/support/store-contract.ts';
import type { KeyPolicy } from './key-policy-types.ts';

forEachDialect('key policies', (db) => {
  void it('keeps one policy per organisation, replaced whole, and another organisation has none', async () => {
    assert.equal(await db.store.keyPolicies.getKeyPolicy(orgA.id), undefined);
    const policy: KeyPolicy = { orgId: orgA.id, maxLifetimeDays: 90, wildcard: 'with_expiry', updatedAt: T1 };
    await db.store.keyPolicies.setKeyPolicy(policy);
    assert.deepEqual(await db.other.keyPolicies.getKeyPolicy(orgA.id), policy);
    const replaced: KeyPolicy = { orgId: orgA.id, maxLifetimeDays: null, wildcard: 'refused', updatedAt: T2 };
    await db.store.keyPolicies.setKeyPolicy(replaced);
    assert.deepEqual(await db.other.keyPolicies.getKeyPolicy(orgA.id), replaced);
    assert.equal(await db.store.keyPolicies.getKeyPolicy(orgB.id), undefined);
  });

  void it('refuses what the schema does not allow, keeping the stored policy', async () => {
    await assert.rejects(db.store.keyPolicies.setKeyPolicy({ orgId: orgA.id, maxLifetimeDays: 0, wildcard: 'allowed', updatedAt: T2 }));
    await assert.rejects(db.store.keyPolicies.setKeyPolicy({ orgId: orgA.id, maxLifetimeDays: null, wildcard: 'sometimes' as 'allowed', updatedAt: T2 }));
    await assert.rejects(db.store.keyPolicies.setKeyPolicy({ orgId: 'org_nobody', maxLifetimeDays: null, wildcard: 'allowed', updatedAt: T2 }));
    assert.equal((await db.store.keyPolicies.getKeyPolicy(orgA.id))?.wildcard, 'refused');
  });
});
