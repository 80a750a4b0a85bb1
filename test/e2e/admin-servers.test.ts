// Virtual servers on the admin API, and keys restricted to them: the routes go through the permission table like
// every other, another organisation's server answers like a missing one, a restricted key hands out nothing wider,
// and a restricted key that acts for a user is bounded by the membership on the server's endpoint too.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { virtualServerView } from '../../src/admin/servers.ts';
import { api, makeOrg, type ApiAnswer, type TestOrg } from './admin-client.ts';
import { addAndConnect, connect, rawPost, startGateway, stdioFixture, type Gateway } from './harness.ts';

const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'e2e', version: '1.0.0' } },
};

describe('admin API: virtual servers and keys restricted to them', () => {
  let gw: Gateway;
  let org: TestOrg;
  let other: TestOrg;

  before(async () => {
    gw = await startGateway();
    org = await makeOrg(gw, 'vs');
    other = await makeOrg(gw, 'vs-other');
    await addAndConnect(gw, stdioFixture('fx'), org.id);
    const theirs = await api(gw, other.people.admin.key, 'POST', '/servers', { name: 'docs', tools: ['*'] });
    assert.equal(theirs.status, 201, theirs.text);
  });
  after(async () => {
    await gw.close();
  });

  const serverUrl = (name: string) => gw.url.replace(/\/mcp$/, `/servers/${name}/mcp`);

  test('an admin creates and changes a server, every role reads it, and each change is audited', async () => {
    const created = await api(gw, org.people.admin.key, 'POST', '/servers', { name: 'docs', description: 'Echo only', tools: ['fx/echo'], unprefixed: true });
    assert.equal(created.status, 201, created.text);
    const view = virtualServerView.parse(created.body);
    assert.deepEqual([view.name, view.tools, view.unprefixed, view.endpoint], ['docs', ['fx/echo'], true, '/servers/docs/mcp']);
    assert.ok(!('orgId' in (created.body as object)));
    for (const role of ['owner', 'admin', 'member', 'viewer'] as const) {
      const listed = await api(gw, org.people[role].key, 'GET', '/servers');
      assert.deepEqual((listed.body as { servers: { name: string }[] }).servers.map((s) => s.name), ['docs'], role);
      assert.deepEqual((await api(gw, org.people[role].key, 'GET', '/servers/docs')).body, created.body, role);
    }
    const patched = await api(gw, org.people.owner.key, 'PATCH', '/servers/docs', { prompts: ['fx'] });
    assert.equal(patched.status, 200, patched.text);
    assert.deepEqual(virtualServerView.parse(patched.body).prompts, ['fx']);
    const refused = await api(gw, org.people.member.key, 'PATCH', '/servers/docs', { tools: ['*'] });
    assert.equal(refused.status, 403);
    const audit = (await api(gw, org.ownerKey, 'GET', '/audit?action=virtual_server.*&limit=100')).body as { records: { action: string; decision: string }[] };
    assert.deepEqual(
      audit.records.map((r) => [r.action, r.decision]),
      [
        ['virtual_server.create', 'allow'],
        ...Array.from({ length: 8 }, () => ['virtual_server.read', 'allow']),
        ['virtual_server.update', 'allow'],
        ['virtual_server.update', 'deny'],
      ],
    );
  });

  test('bodies are strict: no organisation, id or unknown field can be set', async () => {
    for (const body of [{ name: 'x', tools: ['*'], orgId: other.id }, { name: 'x', tools: ['*'], id: 'vs_mine' }, { name: 'x', tools: ['*'], endpoint: '/mcp' }]) {
      const res = await api(gw, org.people.admin.key, 'POST', '/servers', body);
      assert.equal(res.status, 400, res.text);
    }
    assert.equal((await api(gw, org.people.admin.key, 'PATCH', '/servers/docs', { name: 'renamed' })).status, 400);
    assert.equal((await api(gw, org.people.admin.key, 'GET', '/servers/x')).status, 404);
  });

  test("another organisation's server answers exactly like one that does not exist, and is left as it was", async () => {
    // The answer names the server asked for; apart from the name, B's server and a missing one read the same.
    const same = async (method: string, body?: unknown) => {
      const foreign: ApiAnswer = await api(gw, org.people.admin.key, method, '/servers/docs-b', body);
      const absent: ApiAnswer = await api(gw, org.people.admin.key, method, '/servers/nowhere', body);
      assert.equal(foreign.status, 404, foreign.text);
      assert.equal(absent.status, 404, absent.text);
      assert.equal(foreign.text.replace("'docs-b'", "'X'"), absent.text.replace("'nowhere'", "'X'"), method);
      assert.equal(foreign.headers.get('content-type'), absent.headers.get('content-type'));
    };
    const onlyB = await api(gw, other.people.admin.key, 'POST', '/servers', { name: 'docs-b', tools: ['*'] });
    assert.equal(onlyB.status, 201, onlyB.text);
    await same('GET');
    await same('PATCH', { tools: ['fx'] });
    await same('DELETE');
    const b = await api(gw, other.people.viewer.key, 'GET', '/servers/docs-b');
    assert.deepEqual((b.body as { tools: string[] }).tools, ['*'], 'untouched');
    const listed = (await api(gw, org.ownerKey, 'GET', '/servers')).body as { servers: { name: string }[] };
    assert.deepEqual(listed.servers.map((s) => s.name), ['docs']);
  });

  test('keys restricted to servers: only existing servers of the organisation, and never wider than their creator', async () => {
    const unknown = await api(gw, org.people.admin.key, 'POST', '/keys', { name: 'x', scopes: ['*'], servers: ['docs-b'] });
    assert.equal(unknown.status, 404, "another organisation's server is unknown here");
    const made = await api(gw, org.people.admin.key, 'POST', '/keys', { name: 'docs-admin', role: 'admin', scopes: ['*'], servers: ['docs'], userId: org.people.admin.userId });
    assert.equal(made.status, 201, made.text);
    const { key: restricted, record } = made.body as { key: string; record: { id: string; servers: string[] | null } };
    assert.deepEqual(record.servers, ['docs']);
    const inherited = await api(gw, restricted, 'POST', '/keys', { name: 'child', role: 'member', scopes: ['*'] });
    assert.equal(inherited.status, 201, inherited.text);
    assert.deepEqual((inherited.body as { record: { servers: string[] } }).record.servers, ['docs'], 'as restricted as its creator');
    await api(gw, org.people.admin.key, 'POST', '/servers', { name: 'ops', tools: ['fx'] });
    const wider = await api(gw, restricted, 'POST', '/keys', { name: 'wider', role: 'member', scopes: ['*'], servers: ['docs', 'ops'] });
    assert.equal(wider.status, 403, wider.text);
    assert.match(wider.text, /'ops' is beyond the virtual servers your key may use/);
    const rotated = await api(gw, restricted, 'POST', `/keys/${(inherited.body as { record: { id: string } }).record.id}/rotate`, {});
    assert.equal(rotated.status, 201, rotated.text);
    assert.deepEqual((rotated.body as { record: { servers: string[] } }).record.servers, ['docs'], 'a rotated key keeps its servers');
    const listed = (await api(gw, org.ownerKey, 'GET', `/keys/${record.id}`)).body as { servers: string[] };
    assert.deepEqual(listed.servers, ['docs']);
  });

  test('a restricted key acting for a user works on its server only, and stops when the membership ends', async () => {
    const member = await api(gw, org.people.admin.key, 'POST', '/members', { email: 'erin@vs.example', role: 'member' });
    assert.equal(member.status, 201, member.text);
    const userId = (member.body as { userId: string }).userId;
    const made = await api(gw, org.people.admin.key, 'POST', '/keys', { name: 'erin-docs', scopes: ['*'], servers: ['docs'], userId });
    assert.equal(made.status, 201, made.text);
    const key = (made.body as { key: string }).key;
    const client = await connect(serverUrl('docs'), key);
    try {
      assert.deepEqual((await client.listTools()).tools.map((t) => t.name), ['echo']);
    } finally {
      await client.close();
    }
    assert.equal((await rawPost(gw.url, INITIALIZE, { authorization: `Bearer ${key}` })).status, 403, 'never /mcp');
    assert.equal((await rawPost(serverUrl('ops'), INITIALIZE, { authorization: `Bearer ${key}` })).status, 404, 'another server looks missing');
    assert.equal((await api(gw, org.people.admin.key, 'DELETE', `/members/${userId}`)).status, 204);
    assert.equal((await rawPost(serverUrl('docs'), INITIALIZE, { authorization: `Bearer ${key}` })).status, 401, 'the membership ended');
  });

  test('removing a server names the active keys restricted to it; only managers may', async () => {
    assert.equal((await api(gw, org.people.viewer.key, 'DELETE', '/servers/ops')).status, 403);
    const made = await api(gw, org.people.admin.key, 'POST', '/keys', { name: 'ops-only', scopes: ['*'], servers: ['ops'] });
    const id = (made.body as { record: { id: string } }).record.id;
    const removed = await api(gw, org.people.admin.key, 'DELETE', '/servers/ops');
    assert.equal(removed.status, 200, removed.text);
    assert.deepEqual(removed.body, { affectedKeys: [id] });
    assert.equal((await api(gw, org.people.admin.key, 'GET', '/servers/ops')).status, 404);
  });
});
