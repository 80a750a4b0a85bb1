import { it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { checkpointedLog } from '../../../test/support/checkpointed-log.ts';
import { forEachDialect, type Stores } from '../../../test/support/store-contract.ts';
import { operatorActor, type Actor, type ServiceContext } from '../../services/context.ts';
import { exportAudit } from '../../services/audit.ts';
import type { AuditEvent } from '../../store/types.ts';
import { auditSigningKeyVault } from '../../vault/audit-signing-key.ts';
import { SecretBox } from '../../vault/secret-box.ts';
import type { AuditLog } from './audit-log.ts';
import { sealerFor } from './chain.ts';
import { auditEvent } from './event.ts';
import { verifyExport } from './file-verify.ts';
import { loadAuditSigner, parsePublicKey } from './signing.ts';
import { verifyChain } from './verify.ts';

/** What no exported line may hold raw: CR, LF, ESC, DEL, a C1 control (NEL), a Unicode line separator. */
// eslint-disable-next-line no-control-regex -- the control characters are what this test looks for
const RAW_CONTROL = /[\r\n\u001b\u007f\u0085\u2028]/;
const box = new SecretBox(randomBytes(32));

function openLog(db: Stores, every: number): AuditLog {
  return checkpointedLog(db.store, box, every);
}

function event(orgId: string, i: number, extra: Partial<Parameters<typeof auditEvent>[0]> = {}): AuditEvent {
  return auditEvent({ orgId, action: 'mcp.tools/call', decision: i % 3 === 0 ? 'deny' : 'allow', connector: i % 2 ? 'files' : 'github', target: `t${i}`, clientIp: '192.0.2.1', actor: { keyId: 'key_1', user: 'ann@example.com' }, args: JSON.stringify({ i }), ...extra });
}

/** 25 records, checkpointed every 10 and at close: checkpoints at 10, 20, 25. */
async function writeChain(db: Stores, orgId: string): Promise<AuditEvent[]> {
  const audit = openLog(db, 10);
  const events: AuditEvent[] = [];
  for (let i = 1; i <= 25; i++) {
    const e = event(orgId, i);
    events.push(e);
    await audit.record(e);
  }
  await audit.close();
  return events;
}

/** What someone with write access to the database (or the SQLite file) can do: the append-only triggers are theirs to drop. */
async function tamper(db: Stores, sql: string): Promise<void> {
  if (db.store.dialect === 'sqlite') await db.fixture.exec(`DROP TRIGGER IF EXISTS audit_events_no_delete; DROP TRIGGER IF EXISTS audit_events_no_update; ${sql}`);
  else await db.fixture.exec(`ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only; ${sql}; ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only;`);
}

async function* linesOf(gen: AsyncIterable<string>): AsyncGenerator<string> {
  for await (const chunk of gen) for (const line of chunk.split('\n')) if (line !== '') yield line;
}

async function collect(gen: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const l of linesOf(gen)) out.push(l);
  return out;
}

async function* fromArray(lines: readonly string[]): AsyncGenerator<string> {
  for (const l of lines) yield await Promise.resolve(l);
}

forEachDialect('signed audit checkpoints', (db) => {
  const ctx = (audit: AuditLog): Pick<ServiceContext, 'store' | 'audit'> => ({ store: db.store, audit });

  void it('signs the head every N records and at close; the chain verifies with its checkpoints', async () => {
    await writeChain(db, 'org_cp_ok');
    const cps = await db.store.auditAnchors.listCheckpoints('org_cp_ok');
    assert.deepEqual(cps.map((c) => c.seq), [10, 20, 25]);
    const report = await verifyChain(db.store, 'org_cp_ok');
    assert.equal(report.ok, true, report.firstBreak?.reason);
    assert.deepEqual(report.checkpoints, { verified: 3, latestSeq: 25 });
  });

  void it('detects a truncated tail: the last checkpoint covers records that are gone', async () => {
    await writeChain(db, 'org_cp_cut');
    await tamper(db, "DELETE FROM audit_events WHERE org_id = 'org_cp_cut' AND seq > 22");
    const report = await verifyChain(db.store, 'org_cp_cut');
    assert.equal(report.ok, false);
    assert.equal(report.firstBreak?.seq, 23);
    assert.match(report.firstBreak.reason, /removed/);
  });

  void it('detects a chain rewritten and re-hashed from its first record', async () => {
    const events = await writeChain(db, 'org_cp_rewrite');
    await tamper(db, "DELETE FROM audit_events WHERE org_id = 'org_cp_rewrite'");
    for (const [i, e] of events.entries()) await db.store.appendAudit('org_cp_rewrite', sealerFor(i === 4 ? { ...e, decision: 'allow', reason: null } : e));
    const report = await verifyChain(db.store, 'org_cp_rewrite');
    assert.equal(report.ok, false, 'the links and hashes are consistent again, but not with the signed heads');
    assert.equal(report.firstBreak?.seq, 10);
    assert.match(report.firstBreak.reason, /signed checkpoint/);
  });

  void it('refuses a checkpoint signed by another key', async () => {
    await writeChain(db, 'org_cp_forged');
    const head = await db.store.auditAnchors.head('org_cp_forged');
    const other = generateKeyPairSync('ed25519');
    const { sign } = await import('node:crypto');
    const { checkpointPayload } = await import('./signing.ts');
    const unsigned = { orgId: 'org_cp_forged', seq: 26, hash: head?.hash ?? '', ts: new Date().toISOString(), keyId: 'ak_1' };
    await db.store.auditAnchors.insertCheckpoint({ ...unsigned, signature: sign(null, checkpointPayload(unsigned), other.privateKey).toString('base64url') });
    const report = await verifyChain(db.store, 'org_cp_forged');
    assert.equal(report.ok, false);
    assert.match(report.firstBreak?.reason ?? '', /not validly signed/);
  });

  void it('exports a chain that verifies offline with the public key alone, whole, filtered and redacted; a cut or edited file does not', async () => {
    const org = 'org_cp_export';
    const audit = openLog(db, 4);
    for (let i = 1; i <= 9; i++) await audit.record(event(org, i));
    // Hostile content: CR/LF, a forged JSON line, ANSI escapes, DEL, C1 and a Unicode line separator.
    const hostile = 'x\r\n{"type":"checkpoint","forged":true}\n\u001b[31mred\u001b[0m\u007f\u0085\u2028end';
    await audit.record(event(org, 10, { target: hostile, args: JSON.stringify({ note: hostile }), actor: { keyId: 'key_2', user: hostile } }));
    const signer = await loadAuditSigner(db.store.auditAnchors, auditSigningKeyVault(box));
    const key = parsePublicKey(signer.publicKeyPem);
    assert.ok(key);
    const operator = operatorActor('cli:test');

    const whole = await collect(exportAudit(ctx(audit), operator, org));
    for (const line of whole) {
      assert.doesNotMatch(line, RAW_CONTROL, 'no raw control or separator character');
      assert.doesNotThrow(() => JSON.parse(line) as unknown);
    }
    const last = JSON.parse(whole.filter((l) => !l.startsWith('{"type"')).at(-1) ?? '{}') as { targetName?: string };
    assert.equal(last.targetName, hostile, 'stored and exported as it was, escaped');
    const ok = await verifyExport(fromArray(whole), key);
    assert.equal(ok.ok, true, ok.firstBreak?.reason);
    assert.equal(ok.records, 10);

    const redacted = await collect(exportAudit(ctx(audit), operator, org, {}, { redact: ['actorUser', 'clientIp', 'args'] }));
    assert.ok(redacted.every((l) => !l.includes('192.0.2.1') && !l.includes('ann@example.com')), 'redacted values are gone');
    const r = await verifyExport(fromArray(redacted), key);
    assert.equal(r.ok, true, r.firstBreak?.reason);

    const filtered = await collect(exportAudit(ctx(audit), operator, org, { decision: 'deny' }));
    const f = await verifyExport(fromArray(filtered), key);
    assert.equal(f.ok, true, f.firstBreak?.reason);
    assert.equal(f.records, 3, 'records 3, 6 and 9 are denials');
    assert.ok(f.links > 0);

    const edited = redacted.map((l) => (l.includes('"seq":2,') ? l.replace('"decision":"allow"', '"decision":"deny"') : l));
    const e = await verifyExport(fromArray(edited), key);
    assert.equal(e.ok, false);
    assert.equal(e.firstBreak?.seq, 2);

    const cut = whole.slice(0, whole.findLastIndex((l) => l.startsWith('{"type":"checkpoint"')) - 1);
    const c = await verifyExport(fromArray(cut), key);
    assert.equal(c.ok, false, 'the tail of a cut file is not covered by a checkpoint');
    assert.ok(c.unanchored > 0);

    const wrongKey = parsePublicKey(generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString());
    assert.ok(wrongKey);
    assert.equal((await verifyExport(fromArray(whole), wrongKey)).ok, false);
    await audit.close();
  });

  void it('audits each export, and refuses bulk export to a viewer', async () => {
    const org = 'org_cp_who';
    const audit = openLog(db, 0);
    await audit.record(event(org, 1));
    const admin: Actor = { ...operatorActor('x'), via: 'api_key', role: 'admin', orgId: org, keyId: 'key_admin', name: 'key_admin', clientIp: '198.51.100.9' };
    await collect(exportAudit(ctx(audit), admin, org, { decision: 'allow', targetConnector: 'files' }));
    const records = await db.store.listAudit(org, 0, 100);
    const exported = records.at(-1);
    assert.equal(exported?.action, 'audit.export');
    assert.equal(exported.actorKeyId, 'key_admin');
    assert.equal(exported.clientIp, '198.51.100.9');
    assert.deepEqual(JSON.parse(exported.args ?? '{}'), { filters: { decision: 'allow', targetConnector: 'files' }, redact: [], format: 'ndjson', rows: 1 });
    const viewer: Actor = { ...admin, role: 'viewer' };
    await assert.rejects(collect(exportAudit(ctx(audit), viewer, org)), /does not allow audit.export/);
    assert.equal((await db.store.listAudit(org, 0, 100)).length, records.length, 'a refused export writes no export record');
  });
});
