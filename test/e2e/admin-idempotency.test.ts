// The Idempotency-Key header on the admin API's creating POSTs, through a real gateway over HTTP: a retried POST
// creates one object and answers the first answer again, never a key's secret twice; another request under the key,
// and another caller's use of the same key, are told apart.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { operatorActor } from '../../src/services/context.ts';
import { createKey } from '../../src/services/keys.ts';
import { apiBase } from './admin-client.ts';
import { startGateway, type Gateway } from './harness.ts';

interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly replayed: string | null;
}

void describe('idempotency keys on the admin API', () => {
  let gw: Gateway;

  const post = async (key: string, path: string, body: unknown, idem?: string): Promise<Answer> => {
    const headers: Record<string, string> = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    if (idem !== undefined) headers['idempotency-key'] = idem;
    const res = await fetch(apiBase(gw) + path, { method: 'POST', headers, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown>, replayed: res.headers.get('idempotency-replayed') };
  };
  const keysNamed = async (name: string) => (await gw.app.services.store.listApiKeys(gw.org.id)).filter((k) => k.name === name);

  before(async () => {
    gw = await startGateway();
  });

  after(async () => {
    await gw.close();
  });

  test('a retried key creation creates one key; the replay answers its record but never the secret again', async () => {
    const first = await post(gw.ownerKey, '/keys', { name: 'ci-deploy', scopes: ['*'] }, 'create-key-1');
    assert.equal(first.status, 201);
    assert.equal(first.replayed, null);
    assert.match(String(first.body.key), /^gth_/);
    const again = await post(gw.ownerKey, '/keys', { scopes: ['*'], name: 'ci-deploy' }, 'create-key-1');
    assert.equal(again.status, 201);
    assert.equal(again.replayed, 'true');
    assert.deepEqual(again.body.record, first.body.record, 'the same key');
    assert.equal(again.body.key, undefined, 'the secret is shown once');
    assert.equal((await keysNamed('ci-deploy')).length, 1);
    const records = await gw.app.services.store.listAudit(gw.org.id, 0, 100_000);
    assert.equal(records.filter((r) => r.action === 'key.create' && r.reason === 'idempotent_replay').length, 1, 'the replay is audited as one');
    assert.ok(!records.some((r) => JSON.stringify(r).includes(String(first.body.key))), 'no secret in the audit');
  });

  test('the same idempotency key for another body is refused with 422; without a key each POST creates', async () => {
    await post(gw.ownerKey, '/members', { email: 'dana@example.com', role: 'member' }, 'member-1');
    const replay = await post(gw.ownerKey, '/members', { email: 'dana@example.com', role: 'member' }, 'member-1');
    assert.equal(replay.status, 201, 'a replay, not "already a member"');
    const other = await post(gw.ownerKey, '/members', { email: 'erin@example.com', role: 'member' }, 'member-1');
    assert.equal(other.status, 422);
    assert.deepEqual(other.body, { error: { code: 'idempotency_mismatch', message: 'This idempotency key was used for a different request' } });
    assert.equal((await gw.app.services.store.listMembers(gw.org.id)).filter((m) => m.email === 'erin@example.com').length, 0);
    assert.equal((await post(gw.ownerKey, '/keys', { name: 'plain', scopes: ['*'] })).status, 201);
    assert.equal((await post(gw.ownerKey, '/keys', { name: 'plain', scopes: ['*'] })).status, 201);
    assert.equal((await keysNamed('plain')).length, 2);
  });

  test('another caller with the same idempotency key gets its own object', async () => {
    const admin = await createKey(gw.app.services, operatorActor('test'), { orgId: gw.org.id, name: 'second-admin', role: 'admin', scopes: ['*'] });
    const mine = await post(gw.ownerKey, '/keys', { name: 'shared-name', scopes: ['*'] }, 'shared-1');
    const theirs = await post(admin.key, '/keys', { name: 'shared-name', scopes: ['*'] }, 'shared-1');
    assert.equal(theirs.status, 201);
    assert.equal(theirs.replayed, null);
    assert.notDeepEqual(theirs.body.record, mine.body.record);
    assert.equal((await keysNamed('shared-name')).length, 2);
  });

  test('a failed POST gives its key up, and a malformed key is refused with 400', async () => {
    const refused = await post(gw.ownerKey, '/keys', { name: 'bad', scopes: ['not a scope!'] }, 'retry-after-fix');
    assert.equal(refused.status, 400);
    const fixed = await post(gw.ownerKey, '/keys', { name: 'bad', scopes: ['*'] }, 'retry-after-fix');
    assert.equal(fixed.status, 201, 'the corrected request runs under the same key: the failed one held nothing');
    assert.equal((await keysNamed('bad')).length, 1);
    const malformed = await post(gw.ownerKey, '/keys', { name: 'm', scopes: ['*'] }, 'has space');
    assert.equal(malformed.status, 400);
    assert.equal((await keysNamed('m')).length, 0);
  });
});
