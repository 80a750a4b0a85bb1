/**
 * MCP 2026-07-28 (stateless) on the same endpoints as the 2025 session revisions: the real 2.x SDK client in `pin`,
 * `auto` and `legacy` modes, the refusal ladder over raw HTTP, authorization that does not depend on the revision,
 * an envelope that never reaches an upstream, cancellation by closing the response, and subscriptions/listen.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, StreamableHTTPClientTransport, type VersionNegotiationMode } from '@modelcontextprotocol/client';
import { operatorActor } from '../../src/services/context.ts';
import { createKey } from '../../src/services/keys.ts';
import { createVirtualServer } from '../../src/services/virtual-servers.ts';
import { addAndConnect, rawPost, startGateway, stdioFixture, waitFor, type Gateway } from './harness.ts';
import { approvePending } from './pinning-support.ts';

const V = '2026-07-28';
const LEGACY = ['2025-03-26', '2025-06-18', '2025-11-25'] as const;
const ENVELOPE = {
  'io.modelcontextprotocol/protocolVersion': V,
  'io.modelcontextprotocol/clientCapabilities': {},
  'io.modelcontextprotocol/clientInfo': { name: 'raw-2026', version: '1.0.0' },
};

interface RpcReply {
  status: number;
  id: unknown;
  result?: Record<string, unknown>;
  error?: { code: number; message: string; data?: Record<string, unknown> };
  headers: Headers;
}

async function reply(res: Response): Promise<RpcReply> {
  const text = await res.text();
  const body = (text === '' ? {} : JSON.parse(text)) as Omit<RpcReply, 'status' | 'headers'>;
  return { ...body, status: res.status, headers: res.headers };
}

/** A raw 2026-07-28 request with consistent headers; `headers` overrides (undefined removes one). */
async function modernPost(url: string, key: string, method: string, params: Record<string, unknown> = {}, headers: Record<string, string | undefined> = {}, id: number | null = 7) {
  const name = typeof params.name === 'string' ? params.name : typeof params.uri === 'string' ? params.uri : undefined;
  const all: Record<string, string | undefined> = { authorization: `Bearer ${key}`, 'mcp-protocol-version': V, 'mcp-method': method, 'mcp-name': name, ...headers };
  const clean = Object.fromEntries(Object.entries(all).filter((e): e is [string, string] => e[1] !== undefined));
  const { _meta, ...rest } = params;
  const body = { jsonrpc: '2.0', ...(id === null ? {} : { id }), method, params: { ...rest, _meta: { ...ENVELOPE, ...(_meta as object | undefined) } } };
  return reply(await rawPost(url, body, clean));
}

function textOf(result: unknown): string {
  const first = (result as { content: { type: string; text?: string }[] }).content[0];
  assert.equal(first?.type, 'text');
  return first.text ?? '';
}

describe('MCP 2026-07-28 (stateless)', () => {
  let gw: Gateway;
  const clients: Client[] = [];

  async function modernClient(mode: VersionNegotiationMode, key = gw.ownerKey, url = gw.url): Promise<Client> {
    const client = new Client({ name: 'rev-2026', version: '1.0.0' }, { capabilities: {}, versionNegotiation: { mode } });
    clients.push(client);
    await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { Authorization: `Bearer ${key}` } } }));
    return client;
  }

  async function auditOf(correlationId: unknown) {
    const records = await gw.app.services.store.listAudit(gw.org.id, 0, 5000);
    return records.find((r) => r.correlationId === correlationId);
  }

  before(async () => {
    gw = await startGateway();
    await addAndConnect(gw, stdioFixture('fx', [{ name: 'FIXTURE_META_TOOL', value: '1', secret: false }]));
    await addAndConnect(gw, stdioFixture('other'));
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await gw.close();
  });

  for (const mode of [{ pin: V }, 'auto'] as const) {
    test(`${JSON.stringify(mode)}: the modern era, without a session; list, call, read, get and progress work`, async () => {
      const sessions = gw.app.sessions.size;
      const client = await modernClient(mode);
      assert.equal(client.getProtocolEra(), 'modern');
      assert.equal(client.getNegotiatedProtocolVersion(), V);
      const names = (await client.listTools()).tools.map((t) => t.name);
      assert.ok(names.includes('fx__echo') && names.includes('other__echo'), names.join());
      assert.equal(textOf(await client.callTool({ name: 'fx__echo', arguments: { text: 'héllo' } })), 'héllo');
      const read = await client.readResource({ uri: 'fx+fixture://static/hello' });
      assert.deepEqual(read.contents, [{ uri: 'fx+fixture://static/hello', mimeType: 'text/plain', text: 'hello from fixture' }]);
      const prompt = await client.getPrompt({ name: 'fx__greet', arguments: { name: 'Ada' } });
      assert.deepEqual(prompt.messages[0]?.content, { type: 'text', text: 'Hello, Ada!' });
      assert.ok((await client.listResourceTemplates()).resourceTemplates.some((t) => t.uriTemplate === 'fx+fixture://items/{id}'));
      const progress: number[] = [];
      const slow = await client.callTool({ name: 'fx__slow', arguments: { ms: 200, steps: 4 } }, { onprogress: (p) => progress.push(p.progress) });
      assert.equal(textOf(slow), 'done after 200ms');
      assert.deepEqual(progress, [1, 2, 3, 4]);
      assert.equal(gw.app.sessions.size, sessions, 'no session was opened');
    });
  }

  test('legacy mode (the 2.x default) still gets a session', async () => {
    const sessions = gw.app.sessions.size;
    const client = await modernClient('legacy');
    assert.equal(client.getProtocolEra(), 'legacy');
    assert.equal(textOf(await client.callTool({ name: 'fx__echo', arguments: { text: 'old' } })), 'old');
    assert.equal(gw.app.sessions.size, sessions + 1);
    await client.close();
  });

  test('results are shaped for 2026-07-28 and a session id is ignored', async () => {
    const list = await modernPost(gw.url, gw.ownerKey, 'tools/list', {}, { 'mcp-session-id': 'not-a-session', 'last-event-id': '1-1' });
    assert.equal(list.status, 200);
    assert.equal(list.headers.get('mcp-session-id'), null);
    assert.equal(list.result?.resultType, 'complete');
    assert.equal(list.result.ttlMs, 0);
    assert.equal(list.result.cacheScope, 'private');
    assert.deepEqual((list.result._meta as Record<string, unknown>)['io.modelcontextprotocol/serverInfo'], { name: 'gatehouse', version: '0.1.0' });
    assert.ok((list.result.tools as Record<string, unknown>[]).every((t) => !('execution' in t)));
    const discover = await modernPost(gw.url, gw.ownerKey, 'server/discover');
    assert.deepEqual(discover.result?.supportedVersions, [V, '2025-11-25', '2025-06-18', '2025-03-26']);
    assert.equal(discover.result.cacheScope, 'private');
    const call = await modernPost(gw.url, gw.ownerKey, 'tools/call', { name: 'fx__echo', arguments: { text: 'x' } });
    assert.equal(call.result?.resultType, 'complete');
    assert.equal('ttlMs' in call.result, false);
  });

  test('the refusal ladder: each refusal with its status and code, audited as a denial', async () => {
    const sessions = gw.app.sessions.size;
    const call = { name: 'fx__echo', arguments: { text: 'x' } };
    const b64 = (s: string) => `=?base64?${Buffer.from(s, 'utf8').toString('base64')}?=`;
    const cases: [string, () => Promise<RpcReply>, number, number][] = [
      ['no MCP-Protocol-Version', () => modernPost(gw.url, gw.ownerKey, 'tools/list', {}, { 'mcp-protocol-version': undefined }), 400, -32020],
      ['MCP-Protocol-Version differs', () => modernPost(gw.url, gw.ownerKey, 'tools/list', {}, { 'mcp-protocol-version': '2025-11-25' }), 400, -32020],
      ['no Mcp-Method', () => modernPost(gw.url, gw.ownerKey, 'tools/list', {}, { 'mcp-method': undefined }), 400, -32020],
      ['Mcp-Method differs', () => modernPost(gw.url, gw.ownerKey, 'tools/list', {}, { 'mcp-method': 'prompts/list' }), 400, -32020],
      ['no Mcp-Name', () => modernPost(gw.url, gw.ownerKey, 'tools/call', call, { 'mcp-name': undefined }), 400, -32020],
      ['Mcp-Name differs', () => modernPost(gw.url, gw.ownerKey, 'tools/call', call, { 'mcp-name': 'other__echo' }), 400, -32020],
      ['Mcp-Name bad base64', () => modernPost(gw.url, gw.ownerKey, 'tools/call', call, { 'mcp-name': '=?base64?!!!?=' }), 400, -32020],
      ['Mcp-Name of a read', () => modernPost(gw.url, gw.ownerKey, 'resources/read', { uri: 'fx+fixture://static/hello' }, { 'mcp-name': 'fx+fixture://x' }), 400, -32020],
      ['unsupported version', () => modernPost(gw.url, gw.ownerKey, 'tools/list', { _meta: { 'io.modelcontextprotocol/protocolVersion': '2027-01-01' } }, { 'mcp-protocol-version': '2027-01-01' }), 400, -32022],
      ['no clientCapabilities', () => modernPost(gw.url, gw.ownerKey, 'tools/list', { _meta: { 'io.modelcontextprotocol/clientCapabilities': undefined } }), 400, -32602],
      ['unknown method', () => modernPost(gw.url, gw.ownerKey, 'foo/bar'), 404, -32601],
      ['ping', () => modernPost(gw.url, gw.ownerKey, 'ping'), 404, -32601],
      ['logging/setLevel', () => modernPost(gw.url, gw.ownerKey, 'logging/setLevel', { level: 'info' }), 404, -32601],
      ['resources/subscribe', () => modernPost(gw.url, gw.ownerKey, 'resources/subscribe', { uri: 'fx+fixture://static/hello' }), 404, -32601],
      ['enveloped initialize', () => modernPost(gw.url, gw.ownerKey, 'initialize', { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '1' } }), 404, -32601],
    ];
    for (const [what, send, status, code] of cases) {
      const r = await send();
      assert.equal(r.status, status, what);
      assert.equal(r.error?.code, code, what);
      assert.equal(r.id, 7, `${what}: the refusal names the request`);
      assert.equal(r.headers.get('mcp-session-id'), null, what);
      assert.equal((await auditOf(r.error.data?.correlationId))?.decision, 'deny', what);
    }
    const unsupported = await cases[8]![1]();
    assert.deepEqual(unsupported.error?.data?.supported, [V, ...[...LEGACY].reverse()]);
    assert.equal(unsupported.error.data.requested, '2027-01-01');
    assert.equal(gw.app.sessions.size, sessions, 'an enveloped initialize opens no session');
    // The base64 form of Mcp-Name is decoded before it is compared; notifications are accepted and ignored.
    assert.equal((await modernPost(gw.url, gw.ownerKey, 'tools/call', call, { 'mcp-name': b64('fx__echo') })).status, 200);
    assert.equal((await modernPost(gw.url, gw.ownerKey, 'notifications/cancelled', { requestId: 1 }, { 'mcp-method': undefined }, null)).status, 202);
  });

  test('a key scoped to one connector is refused the other one identically on every revision', async () => {
    const { key } = await createKey(gw.app.services, operatorActor('test'), { orgId: gw.org.id, name: 'fx-only', scopes: ['fx'] });
    const auth = { authorization: `Bearer ${key}` };
    const outcomes: Record<string, unknown>[] = [];
    for (const version of LEGACY) {
      const init = await rawPost(gw.url, { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: version, capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }, auth);
      assert.equal(init.status, 200, version);
      assert.equal(((await init.json()) as { result: { protocolVersion: string } }).result.protocolVersion, version);
      const headers = { ...auth, 'mcp-session-id': init.headers.get('mcp-session-id') ?? '', ...(version === '2025-03-26' ? {} : { 'mcp-protocol-version': version }) };
      assert.equal((await rawPost(gw.url, { jsonrpc: '2.0', method: 'notifications/initialized' }, headers)).status, 202);
      const send = async (method: string, params: Record<string, unknown>) => reply(await rawPost(gw.url, { jsonrpc: '2.0', id: 7, method, params }, headers));
      outcomes.push(await outcome(version, send));
    }
    outcomes.push(await outcome(V, (method, params) => modernPost(gw.url, key, method, params)));
    const [first, ...rest] = outcomes;
    for (const o of rest) assert.deepEqual({ ...o, version: first?.version }, first, `${String(o.version)} differs from ${String(first?.version)}`);

    async function outcome(version: string, send: (method: string, params: Record<string, unknown>) => Promise<RpcReply>) {
      const list = await send('tools/list', {});
      const allowed = await send('tools/call', { name: 'fx__echo', arguments: { text: 'ok' } });
      const denied = await send('tools/call', { name: 'other__echo', arguments: { text: 'no' } });
      const deniedRead = await send('resources/read', { uri: 'other+fixture://static/hello' });
      const audits = [await auditOf(denied.error?.data?.correlationId), await auditOf(deniedRead.error?.data?.correlationId)];
      return {
        version,
        tools: (list.result?.tools as { name: string }[]).map((t) => t.name).sort(),
        allowed: textOf(allowed.result),
        denied: [denied.status, denied.error?.code, denied.error?.message, deniedRead.status, deniedRead.error?.code, deniedRead.error?.message],
        dataKeys: Object.keys(denied.error?.data ?? {}),
        audit: audits.map((a) => [a?.action, a?.decision, a?.reason, a?.targetConnector]),
      };
    }
    assert.deepEqual(first?.denied, [200, -32602, 'Unknown tool: other__echo', 200, -32602, 'Resource not found']);
    assert.deepEqual(first.audit, [['mcp.tools/call', 'deny', 'invalid_params:scope', null], ['mcp.resources/read', 'deny', 'invalid_params:scope', null]]);
  });

  test("the request's envelope never reaches the upstream; its other _meta keys do", async () => {
    const client = await modernClient({ pin: V });
    const seen = JSON.parse(textOf(await client.callTool({ name: 'fx__request_meta', arguments: {} }))) as Record<string, unknown> | null;
    assert.ok(Object.keys(seen ?? {}).every((k) => !k.startsWith('io.modelcontextprotocol/')), JSON.stringify(seen));
    const raw = await modernPost(gw.url, gw.ownerKey, 'tools/call', { name: 'fx__request_meta', arguments: {}, _meta: { 'com.example/trace': 'abc' } });
    assert.deepEqual(JSON.parse(textOf(raw.result)), { 'com.example/trace': 'abc' });
  });

  test('closing the response cancels the request upstream', async () => {
    const abort = new AbortController();
    const body = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'fx__slow', arguments: { ms: 9876 }, _meta: ENVELOPE } };
    const headers = { authorization: `Bearer ${gw.ownerKey}`, 'mcp-protocol-version': V, 'mcp-method': 'tools/call', 'mcp-name': 'fx__slow', 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const pending = fetch(gw.url, { method: 'POST', headers, body: JSON.stringify(body), signal: abort.signal }).catch((e: unknown) => e);
    setTimeout(() => {
      abort.abort();
    }, 300);
    assert.ok((await pending) instanceof Error);
    await waitFor(async () => (await gw.app.services.store.listAudit(gw.org.id, 0, 5000)).some((r) => r.args?.includes('9876') === true), 5000, 'the cancelled call');
    const record = (await gw.app.services.store.listAudit(gw.org.id, 0, 5000)).find((r) => r.args?.includes('9876') === true);
    assert.equal(record?.reason, 'request_cancelled');
    assert.ok((record.latencyMs ?? Infinity) < 5000);
  });

  test('subscriptions/listen acknowledges the filter and delivers list_changed', async () => {
    const client = await modernClient({ pin: V });
    let changed = 0;
    client.setNotificationHandler('notifications/tools/list_changed', () => {
      changed++;
    });
    const sub = await client.listen({ toolsListChanged: true, resourceSubscriptions: ['fx+fixture://static/hello'] });
    assert.deepEqual(sub.honoredFilter, { toolsListChanged: true });
    await client.callTool({ name: 'other__add_tool', arguments: { name: 'dynamic_one' } });
    await waitFor(() => changed > 0, 10_000, 'tools/list_changed on the listen stream');
    // Tools an upstream adds after its first sync wait for an admin's approval (tool pinning).
    await approvePending(gw, 'other', ['dynamic_one']);
    assert.ok((await client.listTools()).tools.some((t) => t.name === 'other__dynamic_one'));
    await sub.close();
    assert.equal(await sub.closed, 'local');
  });

  test('a virtual server endpoint serves 2026-07-28 clients its own part of the catalog', async () => {
    await createVirtualServer(gw.app.services, operatorActor('test'), { orgId: gw.org.id, name: 'docs', tools: ['fx/echo'] });
    await gw.app.federation.sync();
    const client = await modernClient({ pin: V }, gw.ownerKey, new URL('/servers/docs/mcp', gw.url).href);
    assert.deepEqual((await client.listTools()).tools.map((t) => t.name), ['fx__echo']);
    assert.equal(textOf(await client.callTool({ name: 'fx__echo', arguments: { text: 'vs' } })), 'vs');
    const refused = await modernPost(new URL('/servers/docs/mcp', gw.url).href, gw.ownerKey, 'tools/call', { name: 'fx__add', arguments: { a: 1, b: 2 } });
    assert.deepEqual([refused.status, refused.error?.code, refused.error?.message], [200, -32602, 'Unknown tool: fx__add']);
  });
});
