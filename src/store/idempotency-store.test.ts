// The store contract for idempotency keys, on SQLite and PostgreSQL alike.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { orgA, orgB, forEachDialect } from '../../test/support/store-contract.ts';
import type { IdempotencyClaim } from './idempotency-types.ts';

const NOW = '2026-03-01T10:00:00.000Z';
const LATER = '2026-03-01T10:05:00.000Z';
const DAY = '2026-03-02T10:00:00.000Z';

function claim(overrides: Partial<IdempotencyClaim> = {}): IdempotencyClaim {
  return { orgId: orgA.id, principal: 'key_1', plane: 'mcp', key: 'k-1', claimId: 'c1', fingerprint: 'f1', now: NOW, expiresAt: LATER, ...overrides };
}

forEachDialect('idempotency keys', (db) => {
  void it('lets the first claim in; a second sees it pending, then the stored result', async () => {
    const c = claim();
    assert.deepEqual(await db.store.idempotency.claimIdempotencyKey(c), { state: 'claimed' });
    assert.deepEqual(await db.other.idempotency.claimIdempotencyKey({ ...c, claimId: 'c2', fingerprint: 'f2' }), { state: 'pending', fingerprint: 'f1' });
    assert.equal(await db.other.idempotency.completeIdempotencyKey(c, 'c2', 'theirs', DAY), false, 'only the claim that holds the row completes it');
    assert.equal(await db.store.idempotency.completeIdempotencyKey(c, 'c1', 'sealed-result', DAY), true);
    assert.equal(await db.store.idempotency.completeIdempotencyKey(c, 'c1', 'again', DAY), false, 'a stored result is not overwritten');
    assert.deepEqual(await db.other.idempotency.claimIdempotencyKey({ ...c, claimId: 'c3', now: LATER }), { state: 'done', fingerprint: 'f1', result: 'sealed-result' });
  });

  void it('keeps namespaces apart: organisation, caller and plane', async () => {
    const c = claim({ key: 'k-ns' });
    assert.deepEqual(await db.store.idempotency.claimIdempotencyKey(c), { state: 'claimed' });
    assert.deepEqual(await db.store.idempotency.claimIdempotencyKey({ ...c, orgId: orgB.id }), { state: 'claimed' });
    assert.deepEqual(await db.store.idempotency.claimIdempotencyKey({ ...c, principal: 'key_2' }), { state: 'claimed' });
    assert.deepEqual(await db.store.idempotency.claimIdempotencyKey({ ...c, plane: 'api' }), { state: 'claimed' });
  });

  void it('lets exactly one of many concurrent claims in', async () => {
    const c = claim({ key: 'k-race' });
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? db.store : db.other).idempotency.claimIdempotencyKey({ ...c, claimId: `r${String(i)}` })),
    );
    assert.equal(results.filter((r) => r.state === 'claimed').length, 1);
    assert.equal(results.filter((r) => r.state === 'pending').length, 7);
  });

  void it('a released claim may be claimed again; an expired row counts as absent and is purged', async () => {
    const c = claim({ key: 'k-release' });
    await db.store.idempotency.claimIdempotencyKey(c);
    await db.store.idempotency.releaseIdempotencyKey(c, 'c-db.other');
    assert.equal((await db.store.idempotency.claimIdempotencyKey({ ...c, claimId: 'c2' })).state, 'pending', 'only its own claim releases it');
    await db.store.idempotency.releaseIdempotencyKey(c, 'c1');
    assert.deepEqual(await db.store.idempotency.claimIdempotencyKey({ ...c, claimId: 'c2', fingerprint: 'f2' }), { state: 'claimed' });

    const e = claim({ key: 'k-expire' });
    await db.store.idempotency.claimIdempotencyKey(e);
    await db.store.idempotency.completeIdempotencyKey(e, 'c1', 'old', LATER);
    assert.deepEqual(await db.store.idempotency.claimIdempotencyKey({ ...e, claimId: 'c2', fingerprint: 'f9', now: LATER, expiresAt: DAY }), { state: 'claimed' });

    const before = await db.fixture.raw("SELECT idem_key FROM idempotency_keys WHERE idem_key = 'k-1'");
    assert.equal(before.length, 1);
    assert.ok((await db.store.idempotency.purgeExpiredIdempotencyKeys(DAY)) >= 1);
    assert.deepEqual(await db.fixture.raw("SELECT idem_key FROM idempotency_keys WHERE idem_key = 'k-1'"), [], 'expired rows are gone');
    assert.equal(await db.store.idempotency.purgeExpiredIdempotencyKeys(DAY), 0);
  });
});
