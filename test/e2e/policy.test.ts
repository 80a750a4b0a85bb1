// Cedar policy sets through the real gateway: saved through the admin API and the CLI (validated against the schema),
// enforced in the decide stage on every call with the official SDK client against the fixture upstream, and audited
// with the deciding version and policy ids. No policy set: the gateway behaves exactly as without Cedar.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { AuditRecord } from '../../src/store/types.ts';
import { api, makeOrg, type TestOrg } from './admin-client.ts';
import { addAndConnect, runCli, startGateway, stdioFixture, type Gateway } from './harness.ts';

const POLICIES = `@id("fx-tools") permit(principal, action == Gatehouse::Action::"tools/call", resource in Gatehouse::Connector::"fx");
@id("no-add") forbid(principal, action, resource == Gatehouse::Tool::"fx/add");
`;
const CONTEXTUAL = `@id("echo-ok") permit(principal in Gatehouse::Role::"member", action, resource == Gatehouse::Tool::"fx/echo")
  when { context.arguments.hasTag("text") && context.arguments.getTag("text") like "ok*" };
@id("office-add") permit(principal, action, resource == Gatehouse::Tool::"fx/add")
  when { context has clientIp && context.clientIp.isInRange(ip("10.0.0.0/8")) };
`;

async function rejection(p: Promise<unknown>): Promise<McpError> {
  const e: unknown = await p.then(
    () => assert.fail('expected the call to fail'),
    (err: unknown) => err,
  );
  assert.ok(e instanceof McpError, `expected an McpError, got ${String(e)}`);
  return e;
}

describe('Cedar policies', () => {
  let gw: Gateway;
  let org: TestOrg;

  async function client(key: string, from?: string): Promise<Client> {
    const headers: Record<string, string> = { authorization: `Bearer ${key}` };
    if (from !== undefined) headers['x-forwarded-for'] = from;
    const c = new Client({ name: 'policy-e2e', version: '1.0.0' });
    await c.connect(new StreamableHTTPClientTransport(new URL(gw.url), { requestInit: { headers } }));
    return c;
  }
  async function lastRecord(action: string, name: string): Promise<AuditRecord> {
    const records = (await gw.app.services.store.listAudit(org.id, 0, 100_000)).filter((r) => r.action === action && r.targetName === name);
    const r = records.at(-1);
    assert.ok(r !== undefined, `no ${action} record for ${name}`);
    return r;
  }
  // Other stages may write detail of their own (the sandbox a stdio call ran in): only the policy's is looked at.
  const detailOf = (r: AuditRecord): unknown => (r.detail === null ? null : ((JSON.parse(r.detail) as { policy?: unknown }).policy ?? null));

  before(async () => {
    gw = await startGateway({ GATEHOUSE_TRUSTED_PROXIES: '127.0.0.1/32' });
    org = await makeOrg(gw, 'cedarco');
    await addAndConnect(gw, stdioFixture('fx'), org.id);
  });
  after(async () => {
    await gw.close();
  });

  test('without a policy set Cedar is not consulted: every tool in scope works and records carry no policy detail', async () => {
    const c = await client(org.people.member.key);
    const added = (await c.callTool({ name: 'fx__add', arguments: { a: 1, b: 2 } })) as CallToolResult;
    assert.equal(added.isError, undefined);
    assert.equal(detailOf(await lastRecord('mcp.tools/call', 'add')), null);
    assert.deepEqual((await api(gw, org.people.viewer.key, 'GET', '/policy')).body, { active: false, version: null, text: null, createdBy: null, createdAt: null });
    await c.close();
  });

  test('an invalid policy set is refused at save with the validator’s message, and nothing changes', async () => {
    const bad = await api(gw, org.people.admin.key, 'PUT', '/policy', { text: 'permit(principal, action, resource) when { context.nope == 1 };' });
    assert.equal(bad.status, 400);
    assert.match((bad.body as { error: { code: string; message: string } }).error.message, /^Invalid policy set: .*attribute `nope` in context .* not found/);
    const unparsable = await api(gw, org.people.admin.key, 'PUT', '/policy', { text: 'permit(principal, action' });
    assert.equal(unparsable.status, 400);
    assert.match((unparsable.body as { error: { message: string } }).error.message, /unexpected end of input/);
    assert.equal((await api(gw, org.people.viewer.key, 'PUT', '/policy', { text: POLICIES })).status, 403);
    assert.equal(((await api(gw, org.people.admin.key, 'GET', '/policy')).body as { active: boolean }).active, false);
    const c = await client(org.people.member.key);
    assert.equal(((await c.callTool({ name: 'fx__add', arguments: { a: 1, b: 2 } })) as CallToolResult).isError, undefined);
    await c.close();
  });

  test('a forbid refuses its tool through the gateway; the record names the version and the deciding policy', async () => {
    const saved = await api(gw, org.people.admin.key, 'PUT', '/policy', { text: POLICIES });
    assert.equal(saved.status, 200, saved.text);
    const version = (saved.body as { version: number }).version;
    const c = await client(org.people.member.key);
    const refused = await rejection(c.callTool({ name: 'fx__add', arguments: { a: 1, b: 2 } }));
    assert.equal(refused.code, -32003);
    assert.match(refused.message, /Refused by the organisation’s policy/);
    const denied = await lastRecord('mcp.tools/call', 'add');
    assert.deepEqual([denied.decision, denied.reason, denied.targetConnector], ['deny', 'policy_denied', 'fx']);
    assert.deepEqual(detailOf(denied), { version, determining: ['no-add'] });

    const echoed = (await c.callTool({ name: 'fx__echo', arguments: { text: 'hello' } })) as CallToolResult;
    assert.deepEqual(echoed.content, [{ type: 'text', text: 'hello' }]);
    assert.deepEqual(detailOf(await lastRecord('mcp.tools/call', 'echo')), { version, determining: ['fx-tools'] });

    const change = (await gw.app.services.store.listAudit(org.id, 0, 100_000)).filter((r) => r.action === 'policy.set').at(-1);
    assert.deepEqual([change?.actorKeyId, change?.targetName, change?.args], [org.people.admin.keyId, `v${String(version)}`, JSON.stringify({ version, policies: ['fx-tools', 'no-add'] })]);
    await c.close();
  });

  test('a permit with a when on the arguments and the client address allows and refuses accordingly (deny by default)', async () => {
    assert.equal((await api(gw, org.people.owner.key, 'PUT', '/policy', { text: CONTEXTUAL })).status, 200);
    const office = await client(org.people.member.key, '10.2.3.4');
    const home = await client(org.people.member.key, '192.0.2.9');
    const admin = await client(org.people.admin.key, '10.2.3.4');

    assert.deepEqual(((await office.callTool({ name: 'fx__echo', arguments: { text: 'ok then' } })) as CallToolResult).content, [{ type: 'text', text: 'ok then' }]);
    assert.deepEqual(detailOf(await lastRecord('mcp.tools/call', 'echo')), { version: 2, determining: ['echo-ok'] });
    assert.equal((await rejection(office.callTool({ name: 'fx__echo', arguments: { text: 'not ok' } }))).code, -32003);
    assert.deepEqual(detailOf(await lastRecord('mcp.tools/call', 'echo')), { version: 2, determining: [] });
    // The role is part of the principal: an admin key is not in Role::"member".
    assert.equal((await rejection(admin.callTool({ name: 'fx__echo', arguments: { text: 'ok' } }))).code, -32003);

    assert.equal(((await office.callTool({ name: 'fx__add', arguments: { a: 2, b: 3 } })) as CallToolResult).isError, undefined);
    assert.equal((await rejection(home.callTool({ name: 'fx__add', arguments: { a: 2, b: 3 } }))).code, -32003);
    // Nothing permits pid: refused by default.
    assert.equal((await rejection(office.callTool({ name: 'fx__pid', arguments: {} }))).code, -32003);
    await Promise.all([office.close(), home.close(), admin.close()]);
  });

  test('the CLI sets, shows and tests a set, and clearing it restores the behaviour without Cedar', async () => {
    const file = join(gw.dataDir, 'p.cedar');
    writeFileSync(file, POLICIES);
    const set = await runCli(gw, ['policy', 'set', '--file', file, '--org', org.slug]);
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /Saved version 3/);
    const shown = await runCli(gw, ['policy', 'show', '--org', org.slug, '--json']);
    assert.deepEqual((JSON.parse(shown.stdout) as { version: number; text: string }).text, POLICIES);
    const tested = await runCli(gw, ['policy', 'test', '--org', org.slug, '--tool', 'fx/add', '--json']);
    assert.deepEqual(JSON.parse(tested.stdout), { version: 3, decision: 'deny', determining: ['no-add'] });
    writeFileSync(file, 'forbid(principal, action, resource) when { context.arguments.getTag("x") == "y" };');
    const refused = await runCli(gw, ['policy', 'set', '--file', file, '--org', org.slug]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /Invalid policy set/);

    const c = await client(org.people.member.key);
    assert.equal((await rejection(c.callTool({ name: 'fx__add', arguments: { a: 1, b: 1 } }))).code, -32003);
    assert.equal((await api(gw, org.people.admin.key, 'DELETE', '/policy')).status, 204);
    assert.equal(((await c.callTool({ name: 'fx__add', arguments: { a: 1, b: 1 } })) as CallToolResult).isError, undefined);
    assert.equal(detailOf(await lastRecord('mcp.tools/call', 'add')), null);
    const versions = (await api(gw, org.people.viewer.key, 'GET', '/policy/versions')).body as { versions: { version: number; active: boolean }[] };
    assert.deepEqual(versions.versions.map((v) => [v.version, v.active]), [[4, false], [3, true], [2, true], [1, true]]);
    await c.close();
  });

  test('a stored set that no longer compiles refuses every call (fail closed), audited as policy_error', async () => {
    // Written past the service (as a set saved under an older schema would be): the gateway must not let calls through.
    const stored = await gw.app.services.store.policies.savePolicySet(org.id, 'permit(principal, action, resource) when { context.gone == 1 };', 'test', new Date().toISOString());
    const c = await client(org.people.member.key);
    const refused = await rejection(c.callTool({ name: 'fx__echo', arguments: { text: 'ok' } }));
    assert.equal(refused.code, -32014);
    assert.match(refused.message, /could not be evaluated/);
    const record = await lastRecord('mcp.tools/call', 'echo');
    assert.deepEqual([record.decision, record.reason, detailOf(record)], ['error', 'policy_error', { version: stored.version, error: 'not_loaded' }]);
    assert.equal((await api(gw, org.people.admin.key, 'DELETE', '/policy')).status, 204);
    assert.equal(((await c.callTool({ name: 'fx__echo', arguments: { text: 'back' } })) as CallToolResult).isError, undefined);
    await c.close();
  });
});
