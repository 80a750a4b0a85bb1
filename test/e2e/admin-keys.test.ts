// Keys and members through the admin API: unknown fields and escalations refused, a key shown once, rotation that
// retires the old key at once, and a key acting for a user bounded by that user's membership.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { keyView } from '../../src/admin/keys.ts';
import { memberView } from '../../src/admin/members.ts';
import { operatorActor } from '../../src/services/context.ts';
import { createKey } from '../../src/services/keys.ts';
import { api, makeOrg, type TestOrg } from './admin-client.ts';
import { rawPost, startGateway, type Gateway } from './harness.ts';

const INIT = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'admin-e2e', version: '1' } } };

describe('admin API: keys and members', () => {
  let gw: Gateway;
  let org: TestOrg;

  before(async () => {
    gw = await startGateway();
    org = await makeOrg(gw, 'keys');
  });
  after(async () => {
    await gw.close();
  });

  test('mass assignment: fields the API does not take are refused with 400 and named', async () => {
    const cases: [string, string, Record<string, unknown>, string][] = [
      ['POST', '/keys', { name: 'k', scopes: ['*'], orgId: 'org_other' }, 'orgId'],
      ['POST', '/keys', { name: 'k', scopes: ['*'], createdBy: 'someone' }, 'createdBy'],
      ['POST', '/keys', { name: 'k', scopes: ['*'], keyHash: '00' }, 'keyHash'],
      ['POST', '/keys', { name: 'k', scopes: ['*'], revokedAt: null }, 'revokedAt'],
      ['PATCH', `/keys/${org.people.member.keyId}`, { name: 'k', role: 'owner' }, 'role'],
      ['PATCH', `/keys/${org.people.member.keyId}`, { name: 'k', scopes: ['*'] }, 'scopes'],
      ['POST', '/members', { email: 'x@keys.example', role: 'viewer', userId: 'usr_chosen' }, 'userId'],
      ['PATCH', `/members/${org.people.viewer.userId}`, { role: 'viewer', email: 'other@keys.example' }, 'email'],
      ['PATCH', `/organisations/${org.id}`, { name: 'n', slug: 'taken' }, 'slug'],
      ['POST', `/keys/${org.people.member.keyId}/rotate`, { scopes: ['*'] }, 'scopes'],
    ];
    for (const [method, path, body, field] of cases) {
      const res = await api(gw, org.ownerKey, method, path, body);
      assert.equal(res.status, 400, `${method} ${path} ${res.text}`);
      assert.match(res.text, new RegExp(`Unrecognized key.*${field}`), `${method} ${path}`);
    }
    const keys = (await api(gw, org.ownerKey, 'GET', '/keys')).body as { keys: { name: string }[] };
    assert.ok(!keys.keys.some((k) => k.name === 'k'), 'nothing was created');
  });

  test('a key never carries more than its creator: role, scopes, user and expiry', async () => {
    const { key: narrow } = await createKey(gw.app.services, operatorActor('test'), {
      orgId: org.id, name: 'narrow', role: 'member', scopes: ['fx', 'gh/read_*'], userId: org.people.member.userId,
    });
    const refusals: [string, string, Record<string, unknown>][] = [
      [org.people.member.key, 'member mints an admin key', { name: 'x', role: 'admin', scopes: ['*'] }],
      [org.people.member.key, 'member mints a viewer key (viewers read the audit log, members do not)', { name: 'x', role: 'viewer', scopes: ['*'] }],
      [org.people.member.key, 'member mints a key for someone else', { name: 'x', scopes: ['*'], userId: org.people.admin.userId }],
      [org.people.admin.key, 'admin mints an owner key', { name: 'x', role: 'owner', scopes: ['*'] }],
      [org.people.admin.key, 'admin gives a viewer an admin key', { name: 'x', role: 'admin', scopes: ['*'], userId: org.people.viewer.userId }],
      [narrow, 'scoped key mints everything', { name: 'x', scopes: ['*'] }],
      [narrow, 'scoped key mints another connector', { name: 'x', scopes: ['other'] }],
      [narrow, 'scoped key widens a prefix', { name: 'x', scopes: ['gh/*'] }],
      [org.people.viewer.key, 'viewer creates a key', { name: 'x', scopes: ['*'] }],
    ];
    for (const [key, what, body] of refusals) {
      const res = await api(gw, key, 'POST', '/keys', body);
      assert.equal(res.status, 403, `${what}: ${res.text}`);
    }
    const ok = await api(gw, narrow, 'POST', '/keys', { name: 'narrower', scopes: ['fx/echo', 'gh/read_file'] });
    assert.equal(ok.status, 201, ok.text);
    const made = keyView.parse((ok.body as { record: unknown }).record);
    assert.deepEqual([made.role, made.userId, made.scopes], ['member', org.people.member.userId, ['fx/echo', 'gh/read_file']]);

    const expiring = await createKey(gw.app.services, operatorActor('test'), {
      orgId: org.id, name: 'expiring', role: 'admin', scopes: ['*'], expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
    });
    const forever = await api(gw, expiring.key, 'POST', '/keys', { name: 'forever', scopes: ['*'] });
    assert.equal((forever.body as { record: { expiresAt: string } }).record.expiresAt, expiring.record.expiresAt, 'inherits its creator’s expiry');
    const later = await api(gw, expiring.key, 'POST', '/keys', { name: 'later', scopes: ['*'], expiresAt: new Date(Date.now() + 7_200_000).toISOString() });
    assert.equal(later.status, 403, later.text);
  });

  test('a created key is shown once: later answers carry neither it nor its hash, and it works at once', async () => {
    const created = await api(gw, org.people.admin.key, 'POST', '/keys', { name: 'agent', scopes: ['*'] });
    assert.equal(created.status, 201);
    const { key, record } = created.body as { key: string; record: { id: string } };
    assert.match(key, /^gth_[0-9A-Za-z]{49}$/);
    const one = await api(gw, org.ownerKey, 'GET', `/keys/${record.id}`);
    const all = await api(gw, org.ownerKey, 'GET', '/keys');
    for (const text of [one.text, all.text]) {
      assert.ok(!text.includes(key), 'the key');
      assert.ok(!text.includes(key.slice(10, 30)), 'any part past the display prefix');
      assert.ok(!text.includes('keyHash'));
    }
    keyView.strict().parse(one.body);
    assert.equal((await api(gw, key, 'GET', '/me')).status, 200);
    const mcp = await rawPost(gw.url, INIT, { authorization: `Bearer ${key}` });
    assert.equal(mcp.status, 200);
    await mcp.body?.cancel();
  });

  test('rotation returns a new key once, with the same rights, and the old key stops working at once', async () => {
    const { key: oldKey, record } = await createKey(gw.app.services, operatorActor('test'), { orgId: org.id, name: 'rotating', role: 'admin', scopes: ['fx'] });
    assert.equal((await api(gw, oldKey, 'GET', '/me')).status, 200);
    const rotated = await api(gw, org.people.admin.key, 'POST', `/keys/${record.id}/rotate`, {});
    assert.equal(rotated.status, 201, rotated.text);
    const { key: newKey, record: next } = rotated.body as { key: string; record: { id: string; name: string; role: string; scopes: string[] } };
    assert.notEqual(newKey, oldKey);
    assert.notEqual(next.id, record.id);
    assert.deepEqual([next.name, next.role, next.scopes], ['rotating', 'admin', ['fx']]);
    assert.equal((await api(gw, oldKey, 'GET', '/me')).status, 401);
    const oldMcp = await rawPost(gw.url, INIT, { authorization: `Bearer ${oldKey}` });
    assert.equal(oldMcp.status, 401);
    await oldMcp.body?.cancel();
    const me = (await api(gw, newKey, 'GET', '/me')).body as { keyId: string; role: string };
    assert.deepEqual([me.keyId, me.role], [next.id, 'admin']);
    assert.equal(((await api(gw, org.ownerKey, 'GET', `/keys/${record.id}`)).body as { status: string }).status, 'revoked');
    assert.equal((await api(gw, org.people.admin.key, 'POST', `/keys/${record.id}/rotate`, {})).status, 409, 'a retired key cannot be rotated again');
    const listed = await api(gw, org.ownerKey, 'GET', '/keys');
    assert.ok(!listed.text.includes(newKey));
  });

  test("an admin cannot rotate (and so obtain) a key wider than its own", async () => {
    const { key: scopedAdmin } = await createKey(gw.app.services, operatorActor('test'), { orgId: org.id, name: 'scoped-admin', role: 'admin', scopes: ['fx'] });
    const res = await api(gw, scopedAdmin, 'POST', `/keys/${org.people.member.keyId}/rotate`, {});
    assert.equal(res.status, 403, res.text);
    const owner = await api(gw, org.people.admin.key, 'POST', `/keys/${org.people.owner.keyId}/revoke`, {});
    assert.equal(owner.status, 403, 'nor revoke an owner key');
    assert.equal((await api(gw, org.people.member.key, 'GET', '/me')).status, 200);
  });

  test('members: roles within the actor’s, a key bounded by its user’s role, removal revokes their keys', async () => {
    const promote = await api(gw, org.people.admin.key, 'PATCH', `/members/${org.people.admin.userId}`, { role: 'owner' });
    assert.equal(promote.status, 403, 'an admin cannot make itself owner');
    const demoteOwner = await api(gw, org.people.admin.key, 'PATCH', `/members/${org.people.owner.userId}`, { role: 'viewer' });
    assert.equal(demoteOwner.status, 403, 'an admin cannot change an owner');
    const added = await api(gw, org.people.admin.key, 'POST', '/members', { email: 'Dana@Keys.Example', role: 'admin' });
    assert.equal(added.status, 201, added.text);
    const dana = memberView.parse(added.body);
    assert.equal(dana.email, 'dana@keys.example');
    assert.equal((await api(gw, org.people.admin.key, 'POST', '/members', { email: 'dana@keys.example', role: 'viewer' })).status, 409);

    const { key: danaKey } = await createKey(gw.app.services, operatorActor('test'), { orgId: org.id, name: 'dana', role: 'admin', scopes: ['*'], userId: dana.userId });
    assert.equal(((await api(gw, danaKey, 'GET', '/me')).body as { role: string }).role, 'admin');
    assert.equal((await api(gw, org.people.admin.key, 'PATCH', `/members/${dana.userId}`, { role: 'member' })).status, 200);
    assert.equal(((await api(gw, danaKey, 'GET', '/me')).body as { role: string }).role, 'member', 'the key now acts as a member');
    assert.equal((await api(gw, danaKey, 'GET', '/audit')).status, 403);

    assert.equal((await api(gw, org.people.admin.key, 'DELETE', `/members/${dana.userId}`)).status, 204);
    assert.equal((await api(gw, danaKey, 'GET', '/me')).status, 401, 'a removed member’s keys stop working');
    assert.equal((await api(gw, org.people.admin.key, 'GET', `/members/${dana.userId}`)).status, 404);
  });
});
