// The store contract for idempotency keys, on SQLite and PostgreSQL alike.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { orgA, orgB, postgresFixture, sqliteFixture, type Fixture } from '../../test/support/store-contract.ts';
import type { IdempotencyClaim } from './idempotency-types.ts';
import type { Store } from './types.ts';

const NOW = '2026-03-01T10:00:00.000Z';
const LATER = '2026-03-01T10:05:00.000Z';
const DAY = '2026-03-02T10:00:00.000Z';

function claim(overrides: Partial<IdempotencyClaim> = {}): IdempotencyClaim {
  return { orgId: orgA.id, principal: 'key_1', plane: 'mcp', key: 'k-1', claimId: 'c1', fingerprint: 'f1', now: NOW, expiresAt: LATER, ...overrides };
}

for (const [name, makeFixture] of [['SqliteStore', sqliteFixture], ['PostgresStore', postgresFixture]] as const) {
  void describe(`${name} idempotency keys`, () => {
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

    void it('lets the first claim in; a second sees it pending, then the stored result', async () => {
      const c = claim();
      assert.deepEqual(await store.idempotency.claimIdempotencyKey(c), { state: 'claimed' });
      assert.deepEqual(await other.idempotency.claimIdempotencyKey({ ...c, claimId: 'c2', fingerprint: 'f2' }), { state: 'pending', fingerprint: 'f1' });
      assert.equal(await other.idempotency.completeIdempotencyKey(c, 'c2', 'theirs', DAY), false, 'only the claim that holds the row completes it');
      assert.equal(await store.idempotency.completeIdempotencyKey(c, 'c1', 'sealed-result', DAY), true);
      assert.equal(await store.idempotency.completeIdempotencyKey(c, 'c1', 'again', DAY), false, 'a stored result is not overwritten');
      assert.deepEqual(await other.idempotency.claimIdempotencyKey({ ...c, claimId: 'c3', now: LATER }), { state: 'done', fingerprint: 'f1', result: 'sealed-result' });
    });

    void it('keeps namespaces apart: organisation, caller and plane', async () => {
      const c = claim({ key: 'k-ns' });
      assert.deepEqual(await store.idempotency.claimIdempotencyKey(c), { state: 'claimed' });
      assert.deepEqual(await store.idempotency.claimIdempotencyKey({ ...c, orgId: orgB.id }), { state: 'claimed' });
      assert.deepEqual(await store.idempotency.claimIdempotencyKey({ ...c, principal: 'key_2' }), { state: 'claimed' });
      assert.deepEqual(await store.idempotency.claimIdempotencyKey({ ...c, plane: 'api' }), { state: 'claimed' });
    });

    void it('lets exactly one of many concurrent claims in', async () => {
      const c = claim({ key: 'k-race' });
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? store : other).idempotency.claimIdempotencyKey({ ...c, claimId: `r${String(i)}` })),
      );
      assert.equal(results.filter((r) => r.state === 'claimed').length, 1);
      assert.equal(results.filter((r) => r.state === 'pending').length, 7);
    });

    void it('a released claim may be claimed again; an expired row counts as absent and is purged', async () => {
      const c = claim({ key: 'k-release' });
      await store.idempotency.claimIdempotencyKey(c);
      await store.idempotency.releaseIdempotencyKey(c, 'c-other');
      assert.equal((await store.idempotency.claimIdempotencyKey({ ...c, claimId: 'c2' })).state, 'pending', 'only its own claim releases it');
      await store.idempotency.releaseIdempotencyKey(c, 'c1');
      assert.deepEqual(await store.idempotency.claimIdempotencyKey({ ...c, claimId: 'c2', fingerprint: 'f2' }), { state: 'claimed' });

      const e = claim({ key: 'k-expire' });
      await store.idempotency.claimIdempotencyKey(e);
      await store.idempotency.completeIdempotencyKey(e, 'c1', 'old', LATER);
      assert.deepEqual(await store.idempotency.claimIdempotencyKey({ ...e, claimId: 'c2', fingerprint: 'f9', now: LATER, expiresAt: DAY }), { state: 'claimed' });

      const before = await fixture.raw("SELECT idem_key FROM idempotency_keys WHERE idem_key = 'k-1'");
      assert.equal(before.length, 1);
      assert.ok((await store.idempotency.purgeExpiredIdempotencyKeys(DAY)) >= 1);
      assert.deepEqual(await fixture.raw("SELECT idem_key FROM idempotency_keys WHERE idem_key = 'k-1'"), [], 'expired rows are gone');
      assert.equal(await store.idempotency.purgeExpiredIdempotencyKeys(DAY), 0);
    });
  });
}
