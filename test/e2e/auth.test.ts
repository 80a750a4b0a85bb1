// Authentication on the MCP endpoint: every kind of bad credential looks the same to the client, each failure is
// audited (unknown keys in the system chain), and a key revoked with the real CLI stops working at once, including
// the streams its sessions hold open.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPError, type StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { SYSTEM_CHAIN } from '../../src/gateway/audit/audit-log.ts';
import { generateApiKey } from '../../src/gateway/authn/api-key-format.ts';
import { createKey, revokeKey } from '../../src/services/keys.ts';
import { operatorActor } from '../../src/services/context.ts';
import type { AuditRecord } from '../../src/store/types.ts';
import { addAndConnect, connect, rawPost, runCli, startGateway, stdioFixture, waitFor, type Gateway } from './harness.ts';

const INIT = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'auth-e2e', version: '1' } } };
const EXPIRY_MS = 1500;

function bearer(key: string): Record<string, string> {
  return { authorization: `Bearer ${key}` };
}

describe('authentication', () => {
  let gw: Gateway;
  let revokedKey: string;
  let revokedId: string;
  let expiringKey: string;
  let expiringId: string;
  let expiresAt: number;
  const clients: Client[] = [];
  const streams: AbortController[] = [];

  async function auditOf(chain: string, correlationId: string | null): Promise<AuditRecord | undefined> {
    assert.ok(correlationId !== null, 'response has no x-correlation-id');
    const records = await gw.app.services.store.listAudit(chain, 0, 1000);
    return records.find((r) => r.correlationId === correlationId);
  }

  before(async () => {
    gw = await startGateway();
    const actor = operatorActor('test');
    expiresAt = Date.now() + EXPIRY_MS;
    const expiring = await createKey(gw.app.services, actor, { orgId: gw.org.id, name: 'expiring', scopes: ['*'], expiresAt: new Date(expiresAt).toISOString() });
    expiringKey = expiring.key;
    expiringId = expiring.record.id;
    const revoked = await createKey(gw.app.services, actor, { orgId: gw.org.id, name: 'to-revoke', scopes: ['*'] });
    revokedKey = revoked.key;
    revokedId = revoked.record.id;
    // Both keys work before they are revoked or expire, so the 401s below are caused by exactly that.
    for (const key of [expiringKey, revokedKey]) {
      const res = await rawPost(gw.url, INIT, bearer(key));
      assert.equal(res.status, 200);
      await res.body?.cancel();
    }
    await revokeKey(gw.app.services, actor, gw.org.id, revokedId);
  });
  after(async () => {
    for (const s of streams) s.abort();
    await Promise.all(clients.map((c) => c.close()));
    await gw.close();
  });

  test('missing, malformed, unknown, revoked and expired keys get identical 401 answers', async () => {
    await waitFor(() => Date.now() > expiresAt + 50, EXPIRY_MS + 2000, 'the key to expire');
    const cases: [string, Record<string, string>][] = [
      ['missing', {}],
      ['malformed', { authorization: 'Bearer nope' }],
      ['unknown', bearer(generateApiKey())],
      ['revoked', bearer(revokedKey)],
      ['expired', bearer(expiringKey)],
    ];
    const bodies = new Set<string>();
    const responses: { reason: string; correlationId: string | null }[] = [];
    for (const [reason, headers] of cases) {
      const res = await rawPost(gw.url, INIT, headers);
      assert.equal(res.status, 401, reason);
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer /, reason);
      assert.equal(res.headers.get('mcp-session-id'), null, reason);
      assert.match(res.headers.get('x-correlation-id') ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, reason);
      bodies.add(await res.text());
      responses.push({ reason, correlationId: res.headers.get('x-correlation-id') });
    }
    assert.equal(bodies.size, 1, `bodies differ: ${[...bodies].join(' | ')}`);
    const body = JSON.parse([...bodies][0] ?? '') as { error: { code: number; message: string } };
    assert.deepEqual(body, { jsonrpc: '2.0', id: null, error: { code: -32001, message: 'Authentication required' } });

    // The same refusal on the stream and session endpoints.
    const get = await fetch(gw.url, { headers: { accept: 'text/event-stream', ...bearer(revokedKey) } });
    assert.equal(get.status, 401);
    assert.equal(await get.text(), [...bodies][0]);
    const del = await fetch(gw.url, { method: 'DELETE', headers: bearer(generateApiKey()) });
    assert.equal(del.status, 401);
    assert.equal(await del.text(), [...bodies][0]);

    // The reasons are for the audit log only: keyless failures in the system chain, known keys in their org's.
    for (const { reason, correlationId } of responses) {
      const known = reason === 'revoked' || reason === 'expired';
      const record = await auditOf(known ? gw.org.id : SYSTEM_CHAIN, correlationId);
      assert.ok(record !== undefined, `no audit record for ${reason}`);
      assert.equal(record.action, 'auth.failed');
      assert.equal(record.decision, 'deny');
      assert.equal(record.reason, reason);
      assert.equal(record.actorKeyId, reason === 'revoked' ? revokedId : reason === 'expired' ? expiringId : null);
    }
    const unknown = responses.find((r) => r.reason === 'unknown');
    assert.equal((await auditOf(SYSTEM_CHAIN, unknown?.correlationId ?? null))?.orgId, SYSTEM_CHAIN);
  });

  test('a key revoked with the CLI fails on its next request and loses its open streams', async () => {
    const { key, record } = await createKey(gw.app.services, operatorActor('test'), { orgId: gw.org.id, name: 'live', scopes: ['*'] });
    const client = await connect(gw.url, key, 'soon-revoked');
    clients.push(client);
    client.onerror = () => undefined; // its own GET stream is cut too; the SDK reports that here
    assert.ok(Array.isArray((await client.listTools()).tools));
    const sdkSession = (client.transport as StreamableHTTPClientTransport).sessionId;
    assert.ok(sdkSession !== undefined);

    // A second session of the same key with a raw GET stream we can watch.
    const init = await rawPost(gw.url, INIT, bearer(key));
    const session = init.headers.get('mcp-session-id') ?? '';
    await init.body?.cancel();
    const ac = new AbortController();
    streams.push(ac);
    const stream = await fetch(gw.url, { headers: { accept: 'text/event-stream', 'mcp-session-id': session, ...bearer(key) }, signal: ac.signal });
    assert.equal(stream.status, 200);
    const reader = stream.body?.getReader();
    assert.ok(reader !== undefined);
    let streamClosedAt: number | undefined;
    const watching = (async () => {
      for (;;) {
        const { done } = await reader.read();
        if (done) break;
      }
      streamClosedAt = Date.now();
    })().catch(() => {
      streamClosedAt = Date.now();
    });

    const cli = await runCli(gw, ['keys', 'revoke', record.id]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, new RegExp(`Revoked ${record.id}`));
    const revokedAt = Date.now();

    await assert.rejects(client.listTools(), (e: unknown) => e instanceof StreamableHTTPError && e.code === 401);
    const direct = await rawPost(gw.url, { jsonrpc: '2.0', id: 2, method: 'ping' }, { ...bearer(key), 'mcp-session-id': session });
    assert.equal(direct.status, 401);
    await direct.body?.cancel();

    // The session reaper (every 5 s) ends sessions whose key is no longer active, closing their streams.
    await waitFor(() => streamClosedAt !== undefined, 12_000, 'the revoked key stream to close');
    await watching;
    assert.ok((streamClosedAt ?? Infinity) - revokedAt < 11_000, `stream closed after ${(streamClosedAt ?? 0) - revokedAt} ms`);
    assert.ok(!ac.signal.aborted, 'the stream must have been closed by the gateway, not the test');
    await waitFor(() => ![...gw.app.sessions.ofOrg(gw.org.id)].some((s) => s.id === sdkSession || s.id === session), 2000, 'the sessions to end');

    const audit = await gw.app.services.store.listAudit(gw.org.id, 0, 1000);
    assert.ok(audit.some((r) => r.action === 'key.revoke' && r.targetName === record.id && r.actorUser?.startsWith('cli:') === true));
  });
});

describe('key scopes', () => {
  let gw: Gateway;
  const clients: Client[] = [];

  async function clientWith(scopes: string[]): Promise<Client> {
    const { key } = await createKey(gw.app.services, operatorActor('test'), { orgId: gw.org.id, name: `scoped-${scopes.join('-')}`, scopes });
    const client = await connect(gw.url, key, `scoped ${scopes.join(' ')}`);
    clients.push(client);
    return client;
  }

  /** The JSON-RPC error a call ends with; its audit record (found by correlation id) must be a denial. */
  async function refusal(call: Promise<unknown>): Promise<{ code: number; message: string; audit: AuditRecord | undefined }> {
    const e = await call.then(
      () => assert.fail('expected the call to be refused'),
      (err: unknown) => err,
    );
    assert.ok(e instanceof McpError, `expected a JSON-RPC error, got ${String(e)}`);
    assert.deepEqual(Object.keys(e.data as object), ['correlationId'], 'the error must not say why');
    const correlationId = (e.data as { correlationId: string }).correlationId;
    const audit = (await gw.app.services.store.listAudit(gw.org.id, 0, 1000)).find((r) => r.correlationId === correlationId);
    return { code: e.code, message: e.message, audit };
  }

  async function listing(client: Client) {
    return {
      tools: (await client.listTools()).tools.map((t) => t.name).sort(),
      prompts: (await client.listPrompts()).prompts.map((p) => p.name).sort(),
      resources: (await client.listResources()).resources.map((r) => r.uri).sort(),
      templates: (await client.listResourceTemplates()).resourceTemplates.map((t) => t.uriTemplate).sort(),
    };
  }

  before(async () => {
    gw = await startGateway();
    await addAndConnect(gw, stdioFixture('alpha'));
    await addAndConnect(gw, stdioFixture('beta'));
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await gw.close();
  });

  test("a key scoped to one tool sees and calls only that tool; the rest is answered as if it did not exist", async () => {
    const client = await clientWith(['alpha/echo']);
    assert.deepEqual(await listing(client), { tools: ['alpha__echo'], prompts: [], resources: [], templates: [] });
    const echoed = (await client.callTool({ name: 'alpha__echo', arguments: { text: 'allowed' } })) as CallToolResult;
    assert.deepEqual(echoed.content, [{ type: 'text', text: 'allowed' }]);

    const missingTool = await refusal(client.callTool({ name: 'alpha__no_such_tool', arguments: {} }));
    const cases: [string, () => Promise<unknown>, { code: number; message: string }][] = [
      ['alpha__add', () => client.callTool({ name: 'alpha__add', arguments: { a: 1, b: 2 } }), missingTool],
      ['beta__echo', () => client.callTool({ name: 'beta__echo', arguments: { text: 'x' } }), missingTool],
      ['alpha__greet', () => client.getPrompt({ name: 'alpha__greet', arguments: { name: 'x' } }), await refusal(client.getPrompt({ name: 'alpha__nope' }))],
      ['alpha+fixture://static/hello', () => client.readResource({ uri: 'alpha+fixture://static/hello' }), await refusal(client.readResource({ uri: 'zeta+fixture://static/nope' }))],
    ];
    assert.equal(missingTool.code, -32602);
    assert.match(missingTool.message, /Unknown tool: alpha__no_such_tool$/);
    for (const [target, call, nonexistent] of cases) {
      const denied = await refusal(call());
      assert.equal(denied.code, nonexistent.code, target);
      // Same wording as for something that does not exist, down to the name the caller used.
      assert.equal(denied.message.replace(target, '<name>'), nonexistent.message.replace(/alpha__no_such_tool|alpha__nope/, '<name>'), target);
      assert.equal(denied.audit?.decision, 'deny', target);
      assert.equal(denied.audit.reason, 'invalid_params:scope', target);
    }
  });

  test('a key scoped to a connector sees all of it and nothing of the others', async () => {
    const client = await clientWith(['beta']);
    const seen = await listing(client);
    assert.deepEqual(seen.tools, ['beta__add', 'beta__add_tool', 'beta__credential_check', 'beta__echo', 'beta__echo_secret_field', 'beta__fail', 'beta__pid', 'beta__slow']);
    assert.deepEqual(seen.prompts, ['beta__greet']);
    assert.deepEqual(seen.resources, ['beta+fixture://items/1', 'beta+fixture://items/2', 'beta+fixture://static/hello']);
    assert.deepEqual(seen.templates, ['beta+fixture://items/{id}']);

    const sum = (await client.callTool({ name: 'beta__add', arguments: { a: 2, b: 3 } })) as CallToolResult;
    assert.deepEqual(sum.structuredContent, { sum: 5 });
    const prompt = await client.getPrompt({ name: 'beta__greet', arguments: { name: 'Ada' } });
    assert.deepEqual(prompt.messages[0]?.content, { type: 'text', text: 'Hello, Ada!' });
    const resource = await client.readResource({ uri: 'beta+fixture://static/hello' });
    assert.deepEqual(resource.contents, [{ uri: 'beta+fixture://static/hello', mimeType: 'text/plain', text: 'hello from fixture' }]);

    const denied = await refusal(client.callTool({ name: 'alpha__echo', arguments: { text: 'x' } }));
    assert.match(denied.message, /Unknown tool: alpha__echo$/);
    assert.equal(denied.audit?.decision, 'deny');
    const deniedResource = await refusal(client.readResource({ uri: 'alpha+fixture://static/hello' }));
    assert.match(deniedResource.message, /Resource not found$/);
    assert.equal(deniedResource.audit?.decision, 'deny');
  });

  test("a key scoped '*' sees every connector", async () => {
    const seen = await listing(await clientWith(['*']));
    for (const c of ['alpha', 'beta']) {
      assert.equal(seen.tools.filter((t) => t.startsWith(`${c}__`)).length, 8, c);
      assert.ok(seen.prompts.includes(`${c}__greet`), c);
      assert.ok(seen.resources.includes(`${c}+fixture://static/hello`), c);
      assert.ok(seen.templates.includes(`${c}+fixture://items/{id}`), c);
    }
    assert.equal(seen.tools.length, 16);
  });
});
