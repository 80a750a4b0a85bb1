// Tenant isolation on the admin API: for every resource type and every verb, asking for another organisation's
// object answers exactly as for one that does not exist (404, byte-identical body), and changes nothing there.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, makeOrg, type ApiAnswer, type TestOrg } from './admin-client.ts';
import { freePort, startGateway, type Gateway } from './harness.ts';

describe('admin API: two organisations', () => {
  let gw: Gateway;
  let a: TestOrg;
  let b: TestOrg;
  let bConnector: string;
  let bAuditHash: string;
  let deadUrl: string;

  before(async () => {
    gw = await startGateway();
    a = await makeOrg(gw, 'acme');
    b = await makeOrg(gw, 'globex');
    // Nothing listens there: the gateway's attempts to connect stay on this machine and fail.
    deadUrl = `http://127.0.0.1:${String(await freePort())}/mcp`;
    const created = await api(gw, b.people.admin.key, 'POST', '/connectors', {
      type: 'http',
      name: 'files',
      url: deadUrl,
      headers: [{ name: 'Authorization', value: 'Bearer globex-upstream-secret', secret: true }],
    });
    assert.equal(created.status, 201, created.text);
    bConnector = (created.body as { id: string }).id;
    const audit = await api(gw, b.people.owner.key, 'GET', '/audit?limit=1');
    bAuditHash = (audit.body as { records: { hash: string }[] }).records[0]!.hash;
  });
  after(async () => {
    await gw.close();
  });

  /** The same request on another organisation's id and on an id that exists nowhere: both 404, same body. */
  async function assertSameAsMissing(key: string, method: string, theirs: string, missing: string, body?: unknown): Promise<void> {
    const foreign: ApiAnswer = await api(gw, key, method, theirs, body);
    const absent: ApiAnswer = await api(gw, key, method, missing, body);
    assert.equal(foreign.status, 404, `${method} ${theirs}: ${foreign.text}`);
    assert.equal(absent.status, 404, `${method} ${missing}: ${absent.text}`);
    assert.equal(foreign.text, absent.text, `${method} ${theirs}`);
    assert.equal(foreign.headers.get('content-type'), absent.headers.get('content-type'));
  }

  for (const who of ['owner key', 'admin'] as const) {
    test(`keys: GET, PATCH, revoke and rotate of another organisation's key look like a missing key (${who})`, async () => {
      const key = who === 'owner key' ? a.ownerKey : a.people.admin.key;
      const theirs = b.people.member.keyId;
      await assertSameAsMissing(key, 'GET', `/keys/${theirs}`, '/keys/key_AAAAAAAAAAAAAAAA');
      await assertSameAsMissing(key, 'PATCH', `/keys/${theirs}`, '/keys/key_AAAAAAAAAAAAAAAA', { name: 'mine now' });
      await assertSameAsMissing(key, 'POST', `/keys/${theirs}/revoke`, '/keys/key_AAAAAAAAAAAAAAAA/revoke', {});
      await assertSameAsMissing(key, 'POST', `/keys/${theirs}/rotate`, '/keys/key_AAAAAAAAAAAAAAAA/rotate', {});
    });

    test(`connectors: GET, PATCH and DELETE of another organisation's connector look like a missing one (${who})`, async () => {
      const key = who === 'owner key' ? a.ownerKey : a.people.admin.key;
      await assertSameAsMissing(key, 'GET', `/connectors/${bConnector}`, '/connectors/con_AAAAAAAAAAAAAAAA');
      await assertSameAsMissing(key, 'PATCH', `/connectors/${bConnector}`, '/connectors/con_AAAAAAAAAAAAAAAA', { url: deadUrl });
      await assertSameAsMissing(key, 'DELETE', `/connectors/${bConnector}`, '/connectors/con_AAAAAAAAAAAAAAAA');
    });

    test(`members: GET, PATCH and DELETE of another organisation's member look like a missing one (${who})`, async () => {
      const key = who === 'owner key' ? a.ownerKey : a.people.admin.key;
      const theirs = b.people.viewer.userId;
      await assertSameAsMissing(key, 'GET', `/members/${theirs}`, '/members/usr_AAAAAAAAAAAAAAAA');
      await assertSameAsMissing(key, 'PATCH', `/members/${theirs}`, '/members/usr_AAAAAAAAAAAAAAAA', { role: 'admin' });
      await assertSameAsMissing(key, 'DELETE', `/members/${theirs}`, '/members/usr_AAAAAAAAAAAAAAAA');
    });

    test(`audit: another organisation's record looks like a missing one (${who})`, async () => {
      const key = who === 'owner key' ? a.ownerKey : a.people.admin.key;
      await assertSameAsMissing(key, 'GET', `/audit/${bAuditHash}`, `/audit/${'0'.repeat(64)}`);
    });
  }

  test("organisations: GET, PATCH and DELETE of another organisation look like a missing one (owner)", async () => {
    await assertSameAsMissing(a.people.owner.key, 'GET', `/organisations/${b.id}`, '/organisations/org_AAAAAAAAAAAAAAAA');
    await assertSameAsMissing(a.people.owner.key, 'PATCH', `/organisations/${b.id}`, '/organisations/org_AAAAAAAAAAAAAAAA', { name: 'Taken' });
    await assertSameAsMissing(a.people.owner.key, 'DELETE', `/organisations/${b.id}`, '/organisations/org_AAAAAAAAAAAAAAAA');
  });

  test("within one organisation, a member's view of a colleague's key is the same 404", async () => {
    await assertSameAsMissing(a.people.member.key, 'GET', `/keys/${a.people.admin.keyId}`, '/keys/key_AAAAAAAAAAAAAAAA');
    await assertSameAsMissing(a.people.member.key, 'POST', `/keys/${a.people.admin.keyId}/revoke`, '/keys/key_AAAAAAAAAAAAAAAA/revoke', {});
    const own = await api(gw, a.people.member.key, 'GET', '/keys');
    assert.deepEqual((own.body as { keys: { id: string }[] }).keys.map((k) => k.id), [a.people.member.keyId]);
  });

  test('lists and audit searches show only the caller’s organisation', async () => {
    const keys = (await api(gw, a.ownerKey, 'GET', '/keys')).body as { keys: { orgId: string }[] };
    assert.ok(keys.keys.length >= 5 && keys.keys.every((k) => k.orgId === a.id));
    const connectors = (await api(gw, a.ownerKey, 'GET', '/connectors')).body as { connectors: unknown[] };
    assert.deepEqual(connectors.connectors, []);
    const members = (await api(gw, a.ownerKey, 'GET', '/members')).body as { members: { email: string }[] };
    assert.ok(members.members.every((m) => m.email.endsWith('@acme.example')));
    const audit = (await api(gw, a.ownerKey, 'GET', `/audit?actorKeyId=${b.people.admin.keyId}`)).body as { records: unknown[] };
    assert.deepEqual(audit.records, []);
    const all = (await api(gw, a.ownerKey, 'GET', '/audit?limit=1000')).body as { records: { orgId: string }[] };
    assert.ok(all.records.length > 0 && all.records.every((r) => r.orgId === a.id));
    const exported = await api(gw, a.ownerKey, 'GET', '/audit/export');
    // (A's own records may name B's ids: they record what A asked for. They are never B's records.)
    const lines = exported.text.trim().split('\n').map((l) => JSON.parse(l) as { orgId: string });
    assert.ok(lines.length > 0 && lines.every((r) => r.orgId === a.id));
    const orgs = (await api(gw, a.ownerKey, 'GET', '/organisations')).body as { organisations: { id: string }[] };
    assert.deepEqual(orgs.organisations.map((o) => o.id), [a.id]);
  });

  test("after every attempt, the other organisation's objects are as they were", async () => {
    const me = await api(gw, b.people.member.key, 'GET', '/me');
    assert.equal(me.status, 200, 'its key was neither revoked nor rotated');
    const key = (await api(gw, b.ownerKey, 'GET', `/keys/${b.people.member.keyId}`)).body as { name: string; status: string };
    assert.deepEqual([key.name, key.status], ['member-key', 'active']);
    const connector = await api(gw, b.ownerKey, 'GET', `/connectors/${bConnector}`);
    assert.equal(connector.status, 200);
    assert.equal((connector.body as { url: string }).url, deadUrl);
    const viewer = (await api(gw, b.ownerKey, 'GET', `/members/${b.people.viewer.userId}`)).body as { role: string };
    assert.equal(viewer.role, 'viewer');
    const org = (await api(gw, b.ownerKey, 'GET', `/organisations/${b.id}`)).body as { name: string };
    assert.equal(org.name, 'Org globex');
    const verify = (await api(gw, b.ownerKey, 'GET', '/audit/verify')).body as { ok: boolean };
    assert.equal(verify.ok, true);
  });
});
