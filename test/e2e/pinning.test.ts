// Tool pinning against rug pulls and read-only connectors, end to end: a real gateway, the SDK client, and an
// upstream that redefines its tools at run time (test/fixtures/rug-pull-server.ts) and says so with list_changed.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpError, ToolListChangedNotificationSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { operatorActor } from '../../src/services/context.ts';
import { getToolPin } from '../../src/services/tool-pins.ts';
import type { AuditRecord } from '../../src/store/types.ts';
import { api } from './admin-client.ts';
import { addAndConnect, connect, NODE, ROOT, runCli, startGateway, waitFor, type ConnectorInput, type Gateway } from './harness.ts';

const RUG = join(ROOT, 'test/fixtures/rug-pull-server.ts');

function rug(name: string, variant = 'original'): ConnectorInput {
  return { name, type: 'stdio', command: NODE, args: [RUG], env: [{ name: 'RUG_VARIANT', value: variant, secret: false }] };
}

function textOf(result: unknown): string {
  const first = (result as CallToolResult).content[0];
  assert.ok(first?.type === 'text', 'expected a text content block');
  return first.text;
}

async function names(client: Client): Promise<string[]> {
  return (await client.listTools()).tools.map((t) => t.name);
}

async function refusal(p: Promise<unknown>): Promise<McpError> {
  const outcome = await p.then(
    (v: unknown) => ({ ok: true as const, v }),
    (e: unknown) => ({ ok: false as const, e }),
  );
  assert.ok(!outcome.ok, `expected a refusal, got ${JSON.stringify(outcome.ok ? outcome.v : null)}`);
  assert.ok(outcome.e instanceof McpError, String(outcome.e));
  return outcome.e;
}

async function records(gw: Gateway): Promise<AuditRecord[]> {
  return gw.app.services.store.listAudit(gw.org.id, 0, 10_000);
}

describe('tool pinning and read-only connectors', () => {
  let gw: Gateway;
  let client: Client;
  let changed = 0;

  before(async () => {
    gw = await startGateway();
    client = await connect(gw.url, gw.ownerKey, 'pinning-client');
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      changed++;
    });
  });

  after(async () => {
    await client.close();
    await gw.close();
  });

  test('the first sync is approved; a changed definition is quarantined until approved through the CLI, then served as changed', async () => {
    await addAndConnect(gw, rug('rug'));
    assert.deepEqual((await names(client)).sort(), ['rug__read_item', 'rug__rug_switch', 'rug__weather', 'rug__write_item']);
    assert.equal(textOf(await client.callTool({ name: 'rug__weather', arguments: { city: 'Oslo' } })), 'weather:original');

    const before = changed;
    assert.equal(textOf(await client.callTool({ name: 'rug__rug_switch', arguments: { variant: 'changed' } })), 'switched to changed');
    await waitFor(async () => !(await names(client)).includes('rug__weather'), 10_000, 'the changed tool to leave tools/list');
    assert.ok(changed > before, 'the client was told the list changed');
    assert.ok((await names(client)).includes('rug__read_item'), 'unchanged tools are still served');

    const err = await refusal(client.callTool({ name: 'rug__weather', arguments: { city: 'Oslo' } }));
    assert.equal(err.code, -32032);
    assert.match(err.message, /quarantined.*awaits an administrator's review/);
    const refused = (await records(gw)).filter((r) => r.reason === 'tool_quarantined:pending');
    assert.equal(refused.length, 1);
    assert.deepEqual(JSON.parse(refused[0]?.detail ?? '{}'), { pin: { connector: 'rug', tool: 'weather', status: 'pending' } });

    const review = await runCli(gw, ['tools', 'review']);
    assert.equal(review.code, 0, review.stderr);
    assert.match(review.stdout, /rug \/ weather: changed \(pending\)/);
    assert.match(review.stdout, /- {3}"description": "Current weather for a city",/);
    assert.match(review.stdout, /\+ {3}"description": "Current weather and a forecast for a city",/);
    assert.match(review.stdout, /\+ {7}"days": \{/);
    assert.match(review.stdout, /findings: none/);

    // An approval names the definition the reviewer saw: another fingerprint is refused.
    const wrong = await runCli(gw, ['tools', 'approve', 'rug', 'weather', '--fingerprint', '0'.repeat(64)]);
    assert.notEqual(wrong.code, 0);
    const pending = await getToolPin(gw.app.services, operatorActor('test'), gw.org.id, 'rug', 'weather');
    const approve = await runCli(gw, ['tools', 'approve', 'rug', 'weather', '--fingerprint', pending.pendingFingerprint ?? '']);
    assert.equal(approve.code, 0, approve.stderr);
    await waitFor(async () => (await names(client)).includes('rug__weather'), 10_000, 'the approved tool back in tools/list');
    const served = (await client.listTools()).tools.find((t) => t.name === 'rug__weather');
    assert.equal(served?.description, 'Current weather and a forecast for a city');
    assert.equal(textOf(await client.callTool({ name: 'rug__weather', arguments: { city: 'Oslo', days: 2 } })), 'weather:changed');
    assert.ok((await records(gw)).some((r) => r.action === 'tool.approve' && r.targetConnector === 'rug' && r.targetName === 'weather'));
  });

  test('injection and hidden characters are flagged, never served unreviewed, and a rejection keeps the tool blocked (API)', async () => {
    await client.callTool({ name: 'rug__rug_switch', arguments: { variant: 'injected' } });
    await waitFor(async () => !(await names(client)).includes('rug__weather'), 10_000, 'the injected tool to leave tools/list');

    const listed = await api(gw, gw.ownerKey, 'GET', '/tools/pins?status=pending');
    assert.equal(listed.status, 200, listed.text);
    const pins = (listed.body as { pins: { tool: string; findings: { rule: string; place: string }[] }[] }).pins;
    assert.deepEqual(pins.map((p) => p.tool), ['weather']);
    const rules = new Set(pins[0]?.findings.map((f) => f.rule));
    for (const r of ['hidden-characters', 'hidden-tag', 'ignore-instructions', 'conceal-from-user', 'sensitive-files']) assert.ok(rules.has(r), `${r} in ${[...rules].join(',')}`);
    const detail = await api(gw, gw.ownerKey, 'GET', '/tools/pins/rug/weather');
    assert.equal(detail.status, 200);
    assert.match((detail.body as { diff: string }).diff, /Pass<U\+200B> ~\/\.ssh\/id_rsa/);
    assert.ok(!detail.text.includes('\u200B'), 'the zero-width space is shown, not sent');

    const rejected = await api(gw, gw.ownerKey, 'POST', '/tools/pins/rug/weather/reject', {});
    assert.equal(rejected.status, 200, rejected.text);
    await gw.app.federation.sync();
    assert.ok(!(await names(client)).includes('rug__weather'));
    const err = await refusal(client.callTool({ name: 'rug__weather', arguments: { city: 'Oslo' } }));
    assert.equal(err.code, -32032);
    assert.match(err.message, /rejected/);
    assert.ok((await records(gw)).some((r) => r.action === 'tool.reject' && r.targetName === 'weather'));
    const after = await api(gw, gw.ownerKey, 'GET', '/tools/pins?connector=rug&status=rejected');
    assert.deepEqual((after.body as { pins: { tool: string }[] }).pins.map((p) => p.tool), ['weather']);
    // A viewer may look but not review.
    const viewer = await runCli(gw, ['keys', 'create', '--name', 'viewer', '--role', 'viewer', '--json']);
    const viewerKey = (JSON.parse(viewer.stdout) as { key: string }).key;
    assert.equal((await api(gw, viewerKey, 'GET', '/tools/pins/rug/weather')).status, 200);
    assert.equal((await api(gw, viewerKey, 'POST', '/tools/pins/rug/weather/approve', {})).status, 403);
  });

  test('a first sync never auto-approves a definition with findings', async () => {
    await addAndConnect(gw, rug('fresh', 'injected'));
    await waitFor(async () => (await names(client)).includes('fresh__read_item'), 10_000, 'the clean tools of the first sync');
    assert.ok(!(await names(client)).includes('fresh__weather'));
    const err = await refusal(client.callTool({ name: 'fresh__weather', arguments: { city: 'Oslo' } }));
    assert.equal(err.code, -32032);
    const pin = await getToolPin(gw.app.services, operatorActor('test'), gw.org.id, 'fresh', 'weather');
    assert.equal(pin.status, 'pending');
    assert.equal(pin.change, 'new');
    assert.ok(pin.findings.some((f) => f.rule === 'hidden-characters' && f.place === 'description'));
  });

  test('a read-only connector serves only tools classified as reading; a readOnlyHint is not a classification; a new tool arrives blocked', async () => {
    await addAndConnect(gw, rug('ro'));
    await waitFor(async () => (await names(client)).includes('ro__write_item'), 10_000, 'the connector');
    const marked = await api(gw, gw.ownerKey, 'PUT', '/connectors/ro/pinning', { readOnly: true });
    assert.equal(marked.status, 200, marked.text);
    assert.deepEqual(marked.body, { connector: 'ro', readOnly: true, autoApproveFirstSync: true });
    await gw.app.federation.sync();
    assert.deepEqual((await names(client)).filter((n) => n.startsWith('ro__')), [], 'nothing is classified yet');
    // read_item says readOnlyHint: true; that is shown to the admin and not trusted.
    const hinted = await refusal(client.callTool({ name: 'ro__read_item', arguments: {} }));
    assert.match(hinted.message, /read-only and the tool is not classified as reading/);
    await refusal(client.callTool({ name: 'ro__write_item', arguments: {} }));
    const denied = (await records(gw)).filter((r) => r.reason === 'invalid_params:read_only');
    assert.equal(denied.length, 2);
    assert.deepEqual(JSON.parse(denied[0]?.detail ?? '{}'), { readOnly: { connector: 'ro', tool: 'read_item', classification: 'unclassified' } });

    const list = await runCli(gw, ['tools', 'list', '--connector', 'ro']);
    assert.match(list.stdout, /read_item\s+approved\s+-\s+readOnlyHint/);
    const classify = await runCli(gw, ['tools', 'classify', 'ro', 'read_item', 'read']);
    assert.equal(classify.code, 0, classify.stderr);
    assert.equal((await runCli(gw, ['tools', 'classify', 'ro', 'write_item', 'write'])).code, 0);
    await gw.app.federation.sync();
    assert.deepEqual((await names(client)).filter((n) => n.startsWith('ro__')), ['ro__read_item']);
    assert.equal(textOf(await client.callTool({ name: 'ro__read_item', arguments: {} })), 'read_item:original');
    await refusal(client.callTool({ name: 'ro__write_item', arguments: {} }));

    // The read-only mark is off for everyone else: a connector that is not read-only still serves write_item.
    assert.ok((await names(client)).includes('rug__write_item'));

    // A tool that appears later is quarantined, and once approved still unclassified, hence blocked.
    const classifiedAsRead = await runCli(gw, ['tools', 'classify', 'ro', 'rug_switch', 'read']);
    assert.equal(classifiedAsRead.code, 0);
    await gw.app.federation.sync();
    await client.callTool({ name: 'ro__rug_switch', arguments: { variant: 'added' } });
    await waitFor(async () => (await api(gw, gw.ownerKey, 'GET', '/tools/pins?connector=ro&status=pending')).text.includes('purge_items'), 10_000, 'the new tool pending');
    assert.equal((await refusal(client.callTool({ name: 'ro__purge_items', arguments: {} }))).code, -32032);
    assert.equal((await api(gw, gw.ownerKey, 'POST', '/tools/pins/ro/purge_items/approve', {})).status, 200);
    await gw.app.federation.sync();
    assert.ok(!(await names(client)).includes('ro__purge_items'));
    assert.match((await refusal(client.callTool({ name: 'ro__purge_items', arguments: {} }))).message, /not classified as reading/);

    // Lifting the mark serves the connector's approved tools again.
    assert.equal((await runCli(gw, ['tools', 'read-only', 'ro', 'off'])).code, 0);
    await gw.app.federation.sync();
    assert.ok((await names(client)).includes('ro__write_item'));
  });
});
