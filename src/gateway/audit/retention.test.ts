import { it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { checkpointedLog } from '../../../test/support/checkpointed-log.ts';
import { forEachDialect, type Stores } from '../../../test/support/store-contract.ts';
import type { GatehouseError } from '../../errors.ts';
import { exportAudit } from '../../services/audit.ts';
import { parseRetention, pruneAudit, updateAuditSettings } from '../../services/audit-retention.ts';
import { operatorActor, type ServiceContext } from '../../services/context.ts';
import { auditSigningKeyVault } from '../../vault/audit-signing-key.ts';
import { SecretBox } from '../../vault/secret-box.ts';
import type { AuditLog } from './audit-log.ts';
import { auditEvent } from './event.ts';
import { verifyExport } from './file-verify.ts';
import { loadAuditSigner, parsePublicKey } from './signing.ts';
import { verifyChain } from './verify.ts';

const box = new SecretBox(randomBytes(32));
const operator = operatorActor('cli:test');
const DAY = 86_400_000;

function openLog(db: Stores, every: number): AuditLog {
  return checkpointedLog(db.store, box, every);
}

/**
 * A chain of `old` records written `ageDays` ago and `young` written now, checkpointed every 10 and at close:
 * with old = 25 and young = 5, checkpoints at 10, 20, 25 (the close after the old ones) and 30.
 */
async function writeChain(db: Stores, orgId: string, old: number, young: number, ageDays = 40): Promise<void> {
  await db.store.createOrganisation({ id: orgId, slug: orgId.replaceAll('_', '-'), name: orgId, createdAt: new Date(Date.now() - 100 * DAY).toISOString(), deletedAt: null });
  const ts = new Date(Date.now() - ageDays * DAY).toISOString();
  for (const [n, at] of [[old, ts], [young, undefined]] as const) {
    const audit = openLog(db, 10);
    for (let i = 0; i < n; i++) {
      const e = auditEvent({ orgId, action: 'mcp.tools/call', decision: 'allow', connector: 'files', target: `t${i}`, actor: { keyId: 'key_1', user: 'ann@example.com' }, args: JSON.stringify({ i }) });
      await audit.record(at === undefined ? e : { ...e, ts: at });
    }
    await audit.close();
  }
}

async function* linesOf(gen: AsyncIterable<string>): AsyncGenerator<string> {
  for await (const chunk of gen) for (const line of chunk.split('\n')) if (line !== '') yield line;
}

async function publicKey(db: Stores) {
  const key = parsePublicKey((await loadAuditSigner(db.store.auditAnchors, auditSigningKeyVault(box))).publicKeyPem);
  assert.ok(key !== undefined);
  return key;
}

/** What someone with write access to the database can do: the append-only and tombstone triggers are theirs to drop. */
async function tamper(db: Stores, sql: string): Promise<void> {
  if (db.store.dialect === 'sqlite') {
    await db.fixture.exec(`DROP TRIGGER IF EXISTS audit_events_no_delete; DROP TRIGGER IF EXISTS audit_events_no_update; DROP TRIGGER IF EXISTS audit_tombstones_no_update; ${sql}`);
  } else {
    await db.fixture.exec(`ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only; ALTER TABLE audit_tombstones DISABLE TRIGGER audit_tombstones_append_only; ${sql};
      ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only; ALTER TABLE audit_tombstones ENABLE TRIGGER audit_tombstones_append_only;`);
  }
}

forEachDialect('audit retention', (db) => {
  const ctx = (audit: AuditLog): Pick<ServiceContext, 'store' | 'audit' | 'box'> => ({ store: db.store, audit, box });

  void it('removes nothing while retention is off, and says so', async () => {
    await writeChain(db, 'org_r_off', 25, 5);
    const audit = openLog(db, 10);
    const r = await pruneAudit(ctx(audit), operator, 'org_r_off');
    await audit.close();
    assert.deepEqual([r.removed, r.note], [0, 'retention is off']);
    assert.equal((await verifyChain(db.store, 'org_r_off')).verified, 31, 'every record stays (the prune request itself is audited)');
  });

  void it('removes the whole checkpointed segment older than the retention, leaves a signed tombstone, and the chain still verifies', async () => {
    await writeChain(db, 'org_r', 25, 5);
    const audit = openLog(db, 10);
    await updateAuditSettings(ctx(audit), operator, 'org_r', { retentionDays: 30 });
    const dry = await pruneAudit(ctx(audit), operator, 'org_r', { dryRun: true });
    assert.deepEqual([dry.removed, dry.firstSeq, dry.lastSeq], [25, 1, 25], 'the cut is the checkpoint at 25, the last old record');
    assert.equal((await db.store.listAudit('org_r', 0, 100)).length, 32, 'a dry run removes nothing');

    const r = await pruneAudit(ctx(audit), operator, 'org_r');
    await audit.close();
    assert.deepEqual([r.removed, r.firstSeq, r.lastSeq], [25, 1, 25]);
    const left = await db.store.listAudit('org_r', 0, 100);
    assert.equal(left[0]?.seq, 26);
    const [tombstone, ...others] = await db.store.auditRetention.listTombstones('org_r');
    assert.equal(others.length, 0);
    assert.deepEqual([tombstone?.firstSeq, tombstone?.lastSeq, tombstone?.count, tombstone?.actor], [1, 25, 25, 'cli:test']);
    assert.equal(tombstone?.headHash, (await db.store.auditAnchors.listCheckpoints('org_r')).find((c) => c.seq === 25)?.hash);

    const report = await verifyChain(db.store, 'org_r');
    assert.equal(report.ok, true, report.firstBreak?.reason);
    assert.deepEqual(report.pruned, { tombstones: 1, throughSeq: 25 });
    assert.equal(report.verified, left.length);
    const last = left.at(-1);
    assert.equal(last?.action, 'audit.prune', 'the removal is itself an audit record, after the tombstone');

    // The export opens with the tombstone and verifies offline with the public key alone.
    const lines = exportAudit(ctx(openLog(db, 10)), operator, 'org_r');
    const file = await verifyExport(linesOf(lines), await publicKey(db));
    assert.equal(file.ok, true, file.firstBreak?.reason);
    assert.equal(file.records, left.length, 'every record after the tombstone (the export is audited once it is read)');

    const again = await pruneAudit(ctx(openLog(db, 10)), operator, 'org_r');
    assert.equal(again.removed, 0, 'nothing old is left');
  });

  void it('keeps what a configured SIEM sink has not delivered yet, and prunes up to what it has', async () => {
    await writeChain(db, 'org_r_siem', 25, 5);
    const audit = openLog(db, 10);
    const sinkCtx = { ...ctx(audit), siemSinks: ['webhook'] };
    await updateAuditSettings(sinkCtx, operator, 'org_r_siem', { retentionDays: 30 });
    const none = await pruneAudit(sinkCtx, operator, 'org_r_siem');
    assert.deepEqual([none.removed, none.note], [0, 'a SIEM sink has not delivered the old records yet']);
    await db.store.siem.advanceSiemCursor('webhook', 'org_r_siem', 12, Date.now());
    const some = await pruneAudit(sinkCtx, operator, 'org_r_siem');
    assert.deepEqual([some.removed, some.firstSeq, some.lastSeq], [10, 1, 10], 'up to the last checkpoint the sink has passed');
    await db.store.siem.advanceSiemCursor('webhook', 'org_r_siem', 40, Date.now());
    const rest = await pruneAudit(sinkCtx, operator, 'org_r_siem');
    await audit.close();
    assert.deepEqual([rest.firstSeq, rest.lastSeq], [11, 25]);
    const report = await verifyChain(db.store, 'org_r_siem');
    assert.equal(report.ok, true, report.firstBreak?.reason);
    assert.deepEqual(report.pruned, { tombstones: 2, throughSeq: 25 });
  });

  void it('keeps the chain head and anything no checkpoint closes, even when every record is old', async () => {
    await writeChain(db, 'org_r_all', 25, 0);
    const audit = openLog(db, 10);
    await updateAuditSettings(ctx(audit), operator, 'org_r_all', { retentionDays: 30 });
    // The settings change is record 26 (young): the old segment closes at the checkpoint at 25; the head stays.
    const r = await pruneAudit(ctx(audit), operator, 'org_r_all');
    await audit.close();
    assert.deepEqual([r.firstSeq, r.lastSeq], [1, 25]);
    assert.ok((await db.store.listAudit('org_r_all', 0, 10)).length >= 1);
    assert.equal((await verifyChain(db.store, 'org_r_all')).ok, true);
  });

  void it('refuses to prune a segment that does not verify, and keeps it as evidence', async () => {
    await writeChain(db, 'org_r_bad', 25, 5);
    await tamper(db, "UPDATE audit_events SET target_name = 'edited' WHERE org_id = 'org_r_bad' AND seq = 7");
    const audit = openLog(db, 10);
    await updateAuditSettings(ctx(audit), operator, 'org_r_bad', { retentionDays: 30 });
    await assert.rejects(pruneAudit(ctx(audit), operator, 'org_r_bad'), (e: GatehouseError) => e.code === 'audit_chain_broken' && /record 7|7/.test(e.message));
    await audit.close();
    assert.equal((await db.store.listAudit('org_r_bad', 0, 100))[0]?.seq, 1, 'nothing was removed');
    assert.deepEqual(await db.store.auditRetention.listTombstones('org_r_bad'), []);
  });

  void it('has the database refuse a cut that is not a whole checkpointed segment older than the retention', async () => {
    await writeChain(db, 'org_r_db', 25, 5);
    const audit = openLog(db, 10);
    await updateAuditSettings(ctx(audit), operator, 'org_r_db', { retentionDays: 30 });
    await audit.close();
    const signer = await loadAuditSigner(db.store.auditAnchors, auditSigningKeyVault(box));
    const cps = await db.store.auditAnchors.listCheckpoints('org_r_db');
    const at = (seq: number) => cps.find((c) => c.seq === seq)?.hash ?? '';
    const records = await db.store.listAudit('org_r_db', 0, 100);
    const hashOf = (seq: number) => records.find((r) => r.seq === seq)?.hash ?? '';
    const tomb = (firstSeq: number, lastSeq: number, headHash: string, count = lastSeq - firstSeq + 1) =>
      signer.signTombstone({ orgId: 'org_r_db', firstSeq, lastSeq, headHash, count, ts: new Date().toISOString(), actor: 'cli:test' });
    const cuts = {
      'young records (through the checkpoint at 30)': tomb(1, 30, at(30)),
      'no checkpoint at the cut (record 15)': tomb(1, 15, hashOf(15)),
      'a range not starting after the last tombstone': tomb(2, 10, at(10)),
      'a count that does not match the range': tomb(1, 10, at(10), 9),
      'a head hash that is not the record\'s': tomb(1, 10, at(20)),
    };
    for (const [why, t] of Object.entries(cuts)) {
      await assert.rejects(db.store.auditRetention.prune(t), (e: GatehouseError) => e.code === 'conflict' && e.message.startsWith('The database refused the cut'), `${why} must be refused`);
    }
    assert.equal((await db.store.listAudit('org_r_db', 0, 100)).length, 31, 'nothing was removed');
    assert.equal((await verifyChain(db.store, 'org_r_db')).ok, true);
    assert.equal(await db.store.auditRetention.prune(tomb(1, 10, at(10))), 10, 'a whole old checkpointed segment is accepted');
    assert.equal((await verifyChain(db.store, 'org_r_db')).ok, true);
  });

  void it('detects a forged tombstone and records removed without one', async () => {
    await writeChain(db, 'org_r_forge', 25, 5);
    const audit = openLog(db, 10);
    await updateAuditSettings(ctx(audit), operator, 'org_r_forge', { retentionDays: 30 });
    await pruneAudit(ctx(audit), operator, 'org_r_forge');
    await audit.close();
    await tamper(db, "UPDATE audit_tombstones SET actor = 'someone else' WHERE org_id = 'org_r_forge'");
    const forged = await verifyChain(db.store, 'org_r_forge');
    assert.equal(forged.ok, false);
    assert.match(forged.firstBreak?.reason ?? '', /not validly signed/);

    await writeChain(db, 'org_r_gone', 25, 5);
    await tamper(db, "DELETE FROM audit_events WHERE org_id = 'org_r_gone' AND seq <= 10");
    const gone = await verifyChain(db.store, 'org_r_gone');
    assert.equal(gone.ok, false, 'a removal no tombstone covers is a break');
    assert.equal(gone.firstBreak?.seq, 1);
  });
});

void it('parses retention as days or off and refuses the rest', () => {
  assert.equal(parseRetention('90d'), 90);
  assert.equal(parseRetention(' 365 '), 365);
  assert.equal(parseRetention('OFF'), null);
  for (const bad of ['0', '0d', '-5d', '3651d', '1.5d', '90 days', '', 'forever']) {
    assert.throws(() => parseRetention(bad), (e: GatehouseError) => e.code === 'bad_request', bad);
  }
});
