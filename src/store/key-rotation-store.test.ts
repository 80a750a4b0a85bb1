// The store contract for API-key rotation (issue 13): schedules, rotation with an overlap, the due-report claim that
// makes one audit record per due period across processes, and the first owner key's exemption backfilled on upgrade.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { apiKey, forEachDialect, orgA, orgB, postgresFixture, sqliteFixture, T0, T1, T2 } from '../../test/support/store-contract.ts';
import { POSTGRES_MIGRATIONS } from './postgres/migrations.ts';
import { SQLITE_MIGRATIONS } from './sqlite/migrations.ts';

const DUE_1 = '2027-01-01T00:00:00.000Z';
const DUE_2 = '2027-03-02T00:00:00.000Z';

forEachDialect('key rotation', (db) => {
  void it('stores a schedule, a retirement and the exemption, and changes or clears the schedule of live keys only', async () => {
    const k = apiKey('key_sched', orgA.id, T0, { rotationDays: 90, policyExempt: true });
    await db.store.insertApiKey(k);
    assert.deepEqual(await db.other.getApiKey(orgA.id, k.id), k, 'every field round-trips');
    assert.equal(await db.store.setApiKeyRotation(orgB.id, k.id, 30), false, "another organisation's key");
    assert.equal(await db.store.setApiKeyRotation(orgA.id, k.id, 30), true);
    assert.equal((await db.other.getApiKey(orgA.id, k.id))?.rotationDays, 30);
    assert.equal(await db.store.setApiKeyRotation(orgA.id, k.id, null), true);
    assert.equal((await db.other.getApiKey(orgA.id, k.id))?.rotationDays, null);
    await assert.rejects(db.store.setApiKeyRotation(orgA.id, k.id, 45 as 30), 'the schema allows 30, 60, 90 and 180 only');
    assert.equal(await db.store.revokeApiKey(orgA.id, k.id, T1), true);
    assert.equal(await db.store.setApiKeyRotation(orgA.id, k.id, 60), false, 'a revoked key');
  });

  void it('rotates with an overlap once: the old key is retiring, not revoked; neither kind of rotation takes a retiring key', async () => {
    const old = apiKey('key_ovl', orgA.id, T0, { rotationDays: 60 });
    await db.store.insertApiKey(old);
    const next = apiKey('key_ovl2', orgA.id, T1, { rotationDays: 60 });
    assert.equal(await db.store.rotateApiKeyWithOverlap(orgB.id, old.id, { ...next, orgId: orgB.id }, T2), false, "another organisation's key");
    assert.equal(await db.store.getApiKey(orgB.id, next.id), undefined, 'a refused rotation writes nothing');
    assert.equal(await db.store.rotateApiKeyWithOverlap(orgA.id, old.id, next, T2), true);
    const retiring = await db.other.getApiKey(orgA.id, old.id);
    assert.deepEqual([retiring?.retiresAt, retiring?.revokedAt], [T2, null]);
    assert.deepEqual(await db.other.findApiKeyByHash(next.keyHash), next);
    const third = apiKey('key_ovl3', orgA.id, T2);
    assert.equal(await db.other.rotateApiKeyWithOverlap(orgA.id, old.id, third, T2), false, 'already retiring');
    assert.equal(await db.other.rotateApiKey(orgA.id, old.id, third, T2), false, 'a retiring key cannot be rotated at once either');
    assert.equal(await db.store.getApiKey(orgA.id, third.id), undefined);
    assert.equal(await db.store.setApiKeyRotation(orgA.id, old.id, 30), false, 'a retiring key keeps no schedule of its own');
    assert.equal(await db.store.revokeApiKey(orgA.id, old.id, T2), true, 'a retiring key can still be revoked outright');
    const revoked = apiKey('key_ovl4', orgA.id, T2);
    assert.equal(await db.store.rotateApiKeyWithOverlap(orgA.id, next.id, revoked, T2), true);
    assert.equal(await db.store.rotateApiKeyWithOverlap(orgA.id, old.id, apiKey('key_ovl5', orgA.id, T2), T2), false, 'a revoked key');
  });

  void it('lists the live scheduled keys of every organisation for the sweep', async () => {
    await db.store.insertApiKey(apiKey('key_list_a', orgA.id, T0, { rotationDays: 30 }));
    await db.store.insertApiKey(apiKey('key_list_b', orgB.id, T0, { rotationDays: 180 }));
    await db.store.insertApiKey(apiKey('key_list_none', orgB.id, T0));
    await db.store.insertApiKey(apiKey('key_list_revoked', orgB.id, T0, { rotationDays: 30, revokedAt: T1 }));
    await db.store.insertApiKey(apiKey('key_list_retiring', orgB.id, T0, { rotationDays: 30, retiresAt: T1 }));
    const ids = (await db.other.listScheduledApiKeys()).map((k) => k.id);
    assert.ok(ids.includes('key_list_a') && ids.includes('key_list_b'), ids.join());
    for (const gone of ['key_list_none', 'key_list_revoked', 'key_list_retiring', 'key_sched', 'key_ovl']) assert.ok(!ids.includes(gone), gone);
  });

  void it('claims each due date once, however many processes claim it at the same time', async () => {
    await db.store.insertApiKey(apiKey('key_due', orgA.id, T0, { rotationDays: 60 }));
    const claims = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? db.store : db.other).claimRotationDueReport(orgA.id, 'key_due', DUE_1)));
    assert.equal(claims.filter(Boolean).length, 1, `exactly one claim of a due date wins: ${claims.join()}`);
    assert.equal((await db.store.getApiKey(orgA.id, 'key_due'))?.rotationDueReported, DUE_1);
    assert.equal(await db.other.claimRotationDueReport(orgA.id, 'key_due', DUE_1), false, 'claimed before');
    assert.equal(await db.other.claimRotationDueReport(orgA.id, 'key_due', T2), false, 'an earlier due date is not reported after a later one');
    assert.equal(await db.other.claimRotationDueReport(orgB.id, 'key_due', DUE_2), false, "another organisation's key");
    const next = await Promise.all([db.store.claimRotationDueReport(orgA.id, 'key_due', DUE_2), db.other.claimRotationDueReport(orgA.id, 'key_due', DUE_2)]);
    assert.deepEqual(next.filter(Boolean).length, 1, 'the next period is reported once again');
  });
});

for (const [name, makeFixture, migrations] of [['SqliteStore', sqliteFixture, SQLITE_MIGRATIONS], ['PostgresStore', postgresFixture, POSTGRES_MIGRATIONS]] as const) {
  void describe(`${name} key rotation upgrade`, () => {
    void it("marks each organisation's first key exempt when it is the owner key for '*' that never expires, and no other", async () => {
      const version = migrations.findIndex((m) => m.includes('ADD COLUMN rotation_days'));
      assert.ok(version > 0);
      const old = makeFixture();
      const key = (id: string, org: string, role: string, scopes: string, at: string, expires = 'NULL') =>
        `INSERT INTO api_keys (id, org_id, name, key_hash, display_prefix, role, scopes, created_by, created_at, expires_at)
         VALUES ('${id}', '${org}', '${id}', '${id.padEnd(64, '0')}', 'gth_${id}', '${role}', '${scopes}', 'bootstrap', '${at}', ${expires});`;
      try {
        await old.exec(`${old.schemaAt(version)}
          INSERT INTO organisations (id, slug, name, created_at) VALUES ('${orgA.id}', '${orgA.slug}', '${orgA.name}', '${T0}');
          INSERT INTO organisations (id, slug, name, created_at) VALUES ('${orgB.id}', '${orgB.slug}', '${orgB.name}', '${T0}');
          ${key('key_first', orgA.id, 'owner', '["*"]', T0)}
          ${key('key_second', orgA.id, 'owner', '["*"]', T1)}
          ${key('key_b_first', orgB.id, 'owner', '["*"]', T0, `'${DUE_1}'`)}
          ${key('key_b_second', orgB.id, 'owner', '["*"]', T1)}`);
        const upgraded = old.open();
        try {
          await upgraded.migrate();
          const exempt = async (org: string, id: string) => (await upgraded.getApiKey(org, id))?.policyExempt;
          assert.equal(await exempt(orgA.id, 'key_first'), true, 'the first owner key bootstrap made');
          assert.equal(await exempt(orgA.id, 'key_second'), false, 'a later wildcard owner key');
          assert.equal(await exempt(orgB.id, 'key_b_first'), false, 'a first key that expires was not made by bootstrap');
          assert.equal(await exempt(orgB.id, 'key_b_second'), false, 'nor is the key after it');
          const k = await upgraded.getApiKey(orgA.id, 'key_second');
          assert.deepEqual([k?.rotationDays, k?.rotationDueReported, k?.retiresAt], [null, null, null]);
        } finally {
          await upgraded.close();
        }
      } finally {
        await old.cleanup();
      }
    });
  });
}
