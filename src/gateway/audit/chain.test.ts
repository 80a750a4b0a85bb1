import { createHash } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AuditEvent, AuditRecord } from '../../store/types.ts';
import { ChainVerifier, GENESIS_HASH, hashRecord, sealerFor } from './chain.ts';

function event(i: number): AuditEvent {
  return {
    ts: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
    orgId: 'org_1',
    actorKeyId: 'key_1',
    actorUser: null,
    clientIp: '127.0.0.1',
    action: 'mcp.tools/call',
    targetConnector: 'alpha',
    targetName: 'echo',
    decision: 'allow',
    reason: null,
    latencyMs: 1.25,
    correlationId: `c${i}`,
    args: '{"text":"x"}',
    detail: null,
  };
}

function chain(n: number): AuditRecord[] {
  const out: AuditRecord[] = [];
  for (let i = 0; i < n; i++) {
    const last = out.at(-1);
    out.push(sealerFor(event(i))(last && { seq: last.seq, hash: last.hash }));
  }
  return out;
}

function verify(records: AuditRecord[]) {
  const v = new ChainVerifier();
  for (const r of records) v.push(r);
  return v.result();
}

test('a sealed chain starts at genesis and verifies', () => {
  const records = chain(5);
  assert.equal(records[0]?.prevHash, GENESIS_HASH);
  assert.deepEqual(records.map((r) => r.seq), [1, 2, 3, 4, 5]);
  const result = verify(records);
  assert.equal(result.ok, true);
  assert.equal(result.verified, 5);
  assert.equal(result.headHash, records[4]?.hash);
});

test('a changed field is named as the changed record', () => {
  const records = chain(5);
  records[2] = { ...records[2]!, decision: 'deny' };
  assert.deepEqual(verify(records).firstBreak?.seq, 3);
  assert.match(verify(records).firstBreak?.reason ?? '', /changed/);
});

test('a removed record is named', () => {
  const records = chain(5);
  records.splice(1, 1);
  assert.equal(verify(records).firstBreak?.seq, 2);
  assert.match(verify(records).firstBreak?.reason ?? '', /missing/);
});

test('a removed last record cannot hide behind renumbering: relinking breaks the hash', () => {
  const records = chain(4);
  const [a, , c] = records;
  const relinked = { ...c!, seq: 2, prevHash: a!.hash };
  assert.equal(verify([a!, relinked]).firstBreak?.seq, 2);
});

test('two swapped records are found at the first of them', () => {
  const records = chain(5);
  const swapped = [records[0]!, { ...records[2]!, seq: 2 }, { ...records[1]!, seq: 3 }, records[3]!, records[4]!];
  assert.equal(verify(swapped).firstBreak?.seq, 2);
});

test('an inserted record breaks the link', () => {
  const records = chain(3);
  const forged = sealerFor(event(99))({ seq: 3, hash: 'f'.repeat(64) });
  assert.equal(verify([...records, forged]).firstBreak?.seq, 4);
  assert.match(verify([...records, forged]).firstBreak?.reason ?? '', /does not link/);
});

test('a record without detail hashes exactly as before the field existed; a detail is covered by the hash', () => {
  const e = event(1);
  const before = createHash('sha256')
    .update(GENESIS_HASH)
    .update('\n')
    .update(JSON.stringify([1, e.orgId, e.ts, e.actorKeyId, e.actorUser, e.clientIp, e.action, e.targetConnector, e.targetName, e.decision, e.reason, e.latencyMs, e.correlationId, e.args]))
    .digest('hex');
  assert.equal(hashRecord(GENESIS_HASH, 1, e), before);
  const withDetail = { ...e, detail: '{"guard":[{"rule":"pii.email"}]}' };
  const sealed = sealerFor(withDetail)(undefined);
  assert.notEqual(sealed.hash, before);
  const v = new ChainVerifier();
  v.push({ ...sealed, detail: '{"guard":[]}' });
  assert.equal(v.result().ok, false);
});
