/**
 * Federation end to end: one gateway in front of server-everything (stdio and Streamable HTTP) and the project's
 * fixture, driven by the official SDK client. Namespacing, pagination, list_changed, and upstreams that die.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError, ToolListChangedNotificationSchema, type CallToolResult, type Tool } from '@modelcontextprotocol/sdk/types.js';
import { EXTRA_TOOL_NAMES } from '../fixtures/fixture-tools.ts';
import {
  addAndConnect,
  connect,
  freePort,
  hostPidOfPidResult,
  httpConnector,
  startEverythingHttp,
  startFixtureHttpProcess,
  startGateway,
  stdioEverything,
  stdioFixture,
  waitFor,
  type Gateway,
  type UpstreamProcess,
} from './harness.ts';
import { approvePending } from './pinning-support.ts';

const VALID_TOOL_NAME = /^[A-Za-z0-9_.-]{1,128}$/;

function textOf(result: unknown): string {
  const first = (result as CallToolResult).content[0];
  assert.ok(first?.type === 'text', 'expected a text content block');
  return first.text;
}

async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args })) as CallToolResult;
}

/** Awaits a rejection and returns it as an McpError (fails the test if the call succeeded or threw something else). */
async function mcpErrorOf(p: Promise<unknown>): Promise<McpError> {
  const outcome = await p.then(
    (v: unknown) => ({ ok: true as const, v }),
    (e: unknown) => ({ ok: false as const, e }),
  );
  assert.ok(!outcome.ok, `expected an error, got ${JSON.stringify(outcome.ok ? outcome.v : null)}`);
  assert.ok(outcome.e instanceof McpError, `expected an McpError, got ${String(outcome.e)}`);
  return outcome.e;
}

async function listAllTools(client: Client): Promise<{ tools: Tool[]; pages: number }> {
  const tools: Tool[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await client.listTools(cursor === undefined ? {} : { cursor });
    tools.push(...page.tools);
    cursor = page.nextCursor;
    pages++;
    assert.ok(pages < 20, 'pagination does not end');
  } while (cursor !== undefined);
  return { tools, pages };
}

/** Nothing an upstream or the gateway's internals know may reach the client in an error message. */
function assertNoInternals(message: string, ...extra: string[]): void {
  for (const s of ['ECONN', 'fetch failed', 'SIGKILL', 'Connection closed', 'stdio', '/tmp', '/work', 'node_modules', 'stack', ...extra]) {
    assert.ok(!message.includes(s), `error message leaks '${s}': ${message}`);
  }
}

describe('federation', () => {
  let gw: Gateway;
  let evh: UpstreamProcess;
  let fx: UpstreamProcess;
  let fh: UpstreamProcess;
  let client: Client;

  before(async () => {
    gw = await startGateway();
    [evh, fx, fh] = await Promise.all([startEverythingHttp(), startFixtureHttpProcess(), startFixtureHttpProcess()]);
    await addAndConnect(gw, stdioEverything('ev'));
    await addAndConnect(gw, httpConnector('evh', evh.url));
    await addAndConnect(gw, httpConnector('fx', fx.url));
    client = await connect(gw.url, gw.ownerKey);
  });

  after(async () => {
    await client.close();
    await gw.close();
    await Promise.all([evh.close(), fx.close(), fh.close()]);
  });

  test('tools/list shows all three upstreams namespaced and each echo reaches its own upstream', async () => {
    const { tools } = await listAllTools(client);
    const names = tools.map((t) => t.name);
    for (const n of ['ev__echo', 'ev__get-sum', 'evh__echo', 'evh__trigger-long-running-operation', 'fx__echo', 'fx__slow', 'fx__add']) {
      assert.ok(names.includes(n), `missing ${n}`);
    }
    assert.ok(names.every((n) => /^(ev|evh|fx)__/.test(n)), 'every tool carries its connector prefix');
    assert.equal(new Set(names).size, names.length, 'no tool is listed twice');

    assert.equal(textOf(await call(client, 'ev__echo', { message: 'one' })), 'Echo: one');
    assert.equal(textOf(await call(client, 'evh__echo', { message: 'two' })), 'Echo: two');
    assert.equal(textOf(await call(client, 'fx__echo', { text: 'three' })), 'three');
    // Two connectors in one session, back to back and interleaved.
    const [sum, added] = await Promise.all([call(client, 'ev__get-sum', { a: 2, b: 3 }), call(client, 'fx__add', { a: 20, b: 22 })]);
    assert.match(textOf(sum), /\b5\b/);
    assert.deepEqual(added.structuredContent, { sum: 42 });
  });

  test('resources, templates and prompts are namespaced and routed back', async () => {
    const { resources } = await client.listResources();
    const uris = resources.map((r) => r.uri);
    assert.ok(uris.includes('fx+fixture://static/hello'));
    assert.ok(uris.some((u) => u.startsWith('ev+demo://')) && uris.some((u) => u.startsWith('evh+demo://')));
    const { resourceTemplates } = await client.listResourceTemplates();
    assert.ok(resourceTemplates.map((t) => t.uriTemplate).includes('fx+fixture://items/{id}'));

    const hello = await client.readResource({ uri: 'fx+fixture://static/hello' });
    assert.deepEqual(hello.contents, [{ uri: 'fx+fixture://static/hello', mimeType: 'text/plain', text: 'hello from fixture' }]);
    const item = await client.readResource({ uri: 'fx+fixture://items/42' });
    assert.deepEqual(item.contents, [{ uri: 'fx+fixture://items/42', mimeType: 'text/plain', text: 'item 42' }]);

    const { prompts } = await client.listPrompts();
    assert.ok(prompts.map((p) => p.name).includes('fx__greet'));
    const greeting = await client.getPrompt({ name: 'fx__greet', arguments: { name: 'Ada' } });
    assert.deepEqual(greeting.messages, [{ role: 'user', content: { type: 'text', text: 'Hello, Ada!' } }]);
  });

  test('tools/list pages with a cursor and returns each tool exactly once', async () => {
    await addAndConnect(gw, stdioFixture('pages'));
    const added = Array.from({ length: 70 }, (_, i) => `p${String(i).padStart(2, '0')}`);
    for (const name of added) assert.equal(textOf(await call(client, 'pages__add_tool', { name })), `added ${name}`);
    // Tools an upstream adds after its first sync wait for an admin's approval (tool pinning).
    await approvePending(gw, 'pages', added);
    await waitFor(() => gw.app.federation.catalog(gw.org.id).tool('pages__p69') !== undefined, 10_000, 'the added tools in the catalog');

    const { tools, pages } = await listAllTools(client);
    const names = tools.map((t) => t.name);
    assert.ok(pages >= 2, `expected more than one page, got ${pages} for ${names.length} tools`);
    assert.ok(names.length > 100);
    assert.equal(new Set(names).size, names.length, 'a tool was listed on two pages');
    for (const n of ['ev__echo', 'evh__echo', 'fx__echo', 'pages__echo', ...added.map((a) => `pages__${a}`)]) assert.ok(names.includes(n), `missing ${n}`);
    assert.equal(textOf(await call(client, 'pages__p42')), 'dynamic p42');

    const bad = await mcpErrorOf(client.listTools({ cursor: 'not-a-cursor' }));
    assert.equal(bad.code, -32602);
    assert.match(bad.message, /Invalid cursor/);
  });

  test('names that break the rules are made valid and still route to their tool', async () => {
    await addAndConnect(gw, stdioFixture('xs', [{ name: 'FIXTURE_EXTRA_TOOLS', value: '1', secret: false }]));
    const xs = (await listAllTools(client)).tools.map((t) => t.name).filter((n) => n.startsWith('xs__'));
    for (const n of xs) assert.match(n, VALID_TOOL_NAME);
    for (const n of ['xs__dotted.name', 'xs__a', 'xs__Mixed-Case_name']) assert.ok(xs.includes(n), `missing ${n}`);
    const long = EXTRA_TOOL_NAMES.find((n) => n.length === 128) ?? '';
    const shortened = xs.filter((n) => n.startsWith('xs__xxxx'));
    assert.equal(shortened.length, 1);
    const exposed = shortened[0] ?? '';
    assert.equal(exposed.length, 128);
    assert.match(exposed, /_[0-9a-f]{8}$/);
    assert.equal(textOf(await call(client, exposed)), `extra ${long}`);
    assert.equal(textOf(await call(client, 'xs__dotted.name')), 'extra dotted.name');
  });

  test('a tool added upstream reaches the client as tools/list_changed and becomes callable', async () => {
    const listener = await connect(gw.url, gw.ownerKey, 'list-changed-client');
    try {
      let changed = 0;
      listener.setNotificationHandler(ToolListChangedNotificationSchema, () => {
        changed++;
      });
      const sessionId = (listener.transport as StreamableHTTPClientTransport).sessionId;
      await waitFor(() => [...gw.app.sessions.ofOrg(gw.org.id)].some((s) => s.id === sessionId && s.standalone?.attached === true), 5000, 'the GET stream');
      assert.ok(!(await listener.listTools()).tools.some((t) => t.name === 'fx__dyn'));

      assert.equal(textOf(await call(listener, 'fx__add_tool', { name: 'dyn' })), 'added dyn');
      await waitFor(() => changed > 0, 5000, 'notifications/tools/list_changed');
      // Tools an upstream adds after its first sync wait for an admin's approval (tool pinning).
      await approvePending(gw, 'fx', ['dyn']);
      assert.ok((await listAllTools(listener)).tools.some((t) => t.name === 'fx__dyn'));
      assert.equal(textOf(await call(listener, 'fx__dyn')), 'dynamic dyn');
    } finally {
      await listener.close();
    }
  });

  test('a stdio upstream killed mid-call fails that call fast; the rest serves; it comes back', async () => {
    await addAndConnect(gw, stdioFixture('ks'));
    // The host's pid of the process (in its sandbox the process sees another number).
    const pid = hostPidOfPidResult(await call(client, 'ks__pid'));
    assert.ok(Number.isInteger(pid) && pid > 0);

    const started = Date.now();
    const inflight = call(client, 'ks__slow', { ms: 10_000 });
    await new Promise((r) => setTimeout(r, 300));
    process.kill(pid, 'SIGKILL');
    const err = await mcpErrorOf(inflight);
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 5000, `the call took ${elapsed} ms to fail`);
    assert.equal(err.code, -32010);
    assert.match(err.message, /Connector 'ks' is unavailable/);
    assertNoInternals(err.message, String(pid));

    assert.equal(textOf(await call(client, 'fx__echo', { text: 'still here' })), 'still here');

    // The gateway reconnects with backoff and the connector serves again, from a new process.
    let back = '';
    await waitFor(
      async () => {
        back = await call(client, 'ks__echo', { text: 'back' }).then(textOf, () => '');
        return back === 'back';
      },
      15_000,
      'the killed connector to come back',
    );
    assert.notEqual(hostPidOfPidResult(await call(client, 'ks__pid')), pid);
  });

  test('an HTTP upstream killed mid-call fails that call fast and the rest of the catalog serves', async () => {
    await addAndConnect(gw, httpConnector('fh', fh.url));
    assert.equal(textOf(await call(client, 'fh__echo', { text: 'up' })), 'up');

    const started = Date.now();
    const inflight = call(client, 'fh__slow', { ms: 10_000 });
    await new Promise((r) => setTimeout(r, 300));
    fh.child.kill('SIGKILL');
    const err = await mcpErrorOf(inflight);
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 6000, `the call took ${elapsed} ms to fail`);
    assert.equal(err.code, -32010, err.message);
    assert.match(err.message, /Connector 'fh' is unavailable/);
    assertNoInternals(err.message, new URL(fh.url).port);

    assert.equal(textOf(await call(client, 'evh__echo', { message: 'alive' })), 'Echo: alive');
    assert.equal(textOf(await call(client, 'fx__echo', { text: 'alive' })), 'alive');
    const again = await mcpErrorOf(call(client, 'fh__echo', { text: 'x' }));
    assert.equal(again.code, -32010);
  });

  test('a tool error from an upstream is passed through as a result and audited as tool_error', async () => {
    const result = await call(client, 'fx__fail');
    assert.equal(result.isError, true);
    const records = await gw.app.services.store.listAudit(gw.org.id, 0, 10_000);
    const record = records.findLast((r) => r.action === 'mcp.tools/call' && r.targetConnector === 'fx' && r.targetName === 'fail');
    assert.ok(record !== undefined, 'no audit record for fx__fail');
    assert.equal(record.decision, 'allow');
    assert.equal(record.reason, 'tool_error');
  });

  test('an upstream that is down from the start fails its calls by name while the others serve', async () => {
    const port = await freePort();
    await addAndConnect(gw, httpConnector('down', `http://127.0.0.1:${port}/mcp`));
    assert.equal(gw.app.federation.connection(gw.org.id, 'down')?.state, 'down');
    assert.ok(!(await listAllTools(client)).tools.some((t) => t.name.startsWith('down__')));

    const err = await mcpErrorOf(call(client, 'down__echo', { text: 'x' }));
    assert.equal(err.code, -32010);
    assert.match(err.message, /Connector 'down' is unavailable/);
    assertNoInternals(err.message, String(port));
    const readErr = await mcpErrorOf(client.readResource({ uri: 'down+fixture://static/hello' }));
    assert.equal(readErr.code, -32010);

    assert.equal(textOf(await call(client, 'ev__echo', { message: 'fine' })), 'Echo: fine');
    assert.equal(textOf(await call(client, 'fx__echo', { text: 'fine' })), 'fine');
  });
});
