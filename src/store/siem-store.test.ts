import assert from 'node:assert/strict';
import { it } from 'node:test';
import { auditEvent, forEachDialect, orgA, orgB, sealer } from '../../test/support/store-contract.ts';

forEachDialect('SIEM cursors and leases', (db) => {
  void it('a cursor moves forward only, per sink and chain, and another process sees it', async () => {
    await db.store.siem.advanceSiemCursor('webhook', orgA.id, 5, 1000);
    await db.store.siem.advanceSiemCursor('webhook', orgA.id, 3, 2000);
    await db.store.siem.advanceSiemCursor('webhook', orgB.id, 2, 3000);
    await db.store.siem.advanceSiemCursor('syslog', orgA.id, 1, 4000);
    assert.deepEqual(await db.other.siem.listSiemCursors('webhook'), [
      { sink: 'webhook', chain: orgA.id, seq: 5, updatedAtMs: 1000 },
      { sink: 'webhook', chain: orgB.id, seq: 2, updatedAtMs: 3000 },
    ]);
    await db.other.siem.advanceSiemCursor('webhook', orgA.id, 9, 5000);
    assert.deepEqual((await db.store.siem.listSiemCursors()).map((c) => [c.sink, c.chain, c.seq]), [
      ['syslog', orgA.id, 1], ['webhook', orgA.id, 9], ['webhook', orgB.id, 2],
    ]);
  });

  void it('one holder per sink until its lease runs out or it lets go', async () => {
    assert.equal(await db.store.siem.claimSiemLease('otlp', 'one', 1000, 31_000), true);
    assert.equal(await db.other.siem.claimSiemLease('otlp', 'two', 2000, 32_000), false, 'a running lease is not taken');
    assert.equal(await db.store.siem.claimSiemLease('otlp', 'one', 3000, 33_000), true, 'the holder renews');
    assert.equal(await db.other.siem.claimSiemLease('syslog', 'two', 3000, 33_000), true, 'another sink is another lease');
    assert.equal(await db.other.siem.claimSiemLease('otlp', 'two', 33_001, 63_001), true, 'an expired lease is taken over');
    assert.equal(await db.store.siem.claimSiemLease('otlp', 'one', 34_000, 64_000), false);
    await db.store.siem.releaseSiemLease('otlp', 'one');
    assert.equal(await db.store.siem.claimSiemLease('otlp', 'one', 35_000, 65_000), false, "releasing another's lease does nothing");
    await db.other.siem.releaseSiemLease('otlp', 'two');
    assert.equal(await db.store.siem.claimSiemLease('otlp', 'one', 36_000, 66_000), true);
  });

  void it('reads a chain head', async () => {
    assert.equal(await db.store.siem.auditHeadSeq(orgA.id), 0);
    for (let n = 1; n <= 3; n++) await db.store.appendAudit(orgA.id, sealer(auditEvent(orgA.id, n)));
    assert.equal(await db.other.siem.auditHeadSeq(orgA.id), 3);
    assert.equal(await db.other.siem.auditHeadSeq(orgB.id), 0);
  });
});
