// MCP sessions as the gateway keeps them: resumable SSE answers (priming event, `<stream>-<seq>` ids, GET with
// Last-Event-ID), which session ids are refused and how, protocol revisions, the per-key session cap, idle reaping
// (with the session's own upstream connections), and virtual servers at /servers/{name}/mcp. Raw fetch throughout,
// where the wire is what is tested; the official SDK client where a client's view is enough.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { operatorActor } from '../../src/services/context.ts';
import { createKey } from '../../src/services/keys.ts';
import { createVirtualServer } from '../../src/services/virtual-servers.ts';
import { addAndConnect, connect, hostPidOfPidResult, rawPost, startGateway, stdioFixture, waitFor, type Gateway } from './harness.ts';

interface SseEvent { id?: string; retry?: string; data: string }
interface Rpc { id?: unknown; method?: string; params?: Record<string, unknown>; result?: unknown; error?: { code: number; message: string; data?: unknown } }

const auth = (key: string) => ({ authorization: `Bearer ${key}` });
const ACTOR = operatorActor('test');

/** The SSE events of a response as they arrive (comment-only blocks, such as keep-alives, are skipped). */
async function* sse(res: Response): AsyncGenerator<SseEvent, void> {
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const reader: ReadableStreamDefaultReader<Uint8Array> = (res.body ?? assert.fail('no body')).getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
      const lines = buffer.slice(0, end).split('\n').filter((l) => !l.startsWith(':'));
      buffer = buffer.slice(end + 2);
      if (lines.length === 0) continue;
      const field = (name: string) => lines.filter((l) => l.startsWith(`${name}:`)).map((l) => l.slice(name.length + 1).replace(/^ /, ''));
      yield { id: field('id')[0], retry: field('retry')[0], data: field('data').join('\n') };
    }
  }
}

async function collect(res: Response): Promise<SseEvent[]> {
  const out: SseEvent[] = [];
  for await (const e of sse(res)) out.push(e);
  return out;
}

const rpc = (e: SseEvent): Rpc => JSON.parse(e.data) as Rpc;
const seqOf = (e: SseEvent): number => Number((e.id ?? assert.fail('event without id')).split('-')[1]);

/** An initialize through raw fetch; the session id and the negotiated revision. */
async function init(url: string, key: string, protocolVersion = '2025-11-25', capabilities: Record<string, unknown> = {}): Promise<{ id: string; version: string; status: number }> {
  const res = await rawPost(url, { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion, capabilities, clientInfo: { name: 'raw', version: '1' } } }, auth(key));
  const body = (await res.json()) as Rpc;
  return { id: res.headers.get('mcp-session-id') ?? '', version: (body.result as { protocolVersion?: string } | undefined)?.protocolVersion ?? '', status: res.status };
}

/** Status and JSON-RPC error (without the per-request correlation id) of a refused request. */
async function refusal(res: Response): Promise<{ status: number; code: number; message: string }> {
  const body = (await res.json()) as Rpc;
  assert.ok(body.error !== undefined, `expected an error: ${JSON.stringify(body)}`);
  return { status: res.status, code: body.error.code, message: body.error.message };
}

function stream(url: string, key: string, session: string, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> {
  return fetch(url, { method: 'GET', headers: { ...auth(key), accept: 'text/event-stream', 'mcp-session-id': session, ...headers }, signal });
}

describe('sessions, streams and endpoints', () => {
  let gw: Gateway;
  const keys: Record<string, string> = {};
  const ping = { jsonrpc: '2.0', id: 1, method: 'ping' };
  const serverUrl = (name: string) => new URL(`/servers/${name}/mcp`, gw.url).href;
  const call = (session: string, key: string, id: string, name: string, args: Record<string, unknown>, extra: Record<string, unknown> = {}, signal?: AbortSignal) =>
    fetch(gw.url, {
      method: 'POST',
      headers: { ...auth(key), 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': session },
      body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args, ...extra } }),
      signal,
    });

  before(async () => {
    gw = await startGateway();
    await addAndConnect(gw, stdioFixture('alpha'));
    await addAndConnect(gw, stdioFixture('beta', [{ name: 'FIXTURE_EXTRA_TOOLS', value: '1', secret: false }]));
    const servers = [
      { name: 'a', tools: ['alpha/echo', 'beta/echo', 'beta/a', 'alpha/add'], unprefixed: true },
      { name: 'b', tools: ['alpha/*'], unprefixed: false },
    ];
    for (const s of servers) await createVirtualServer(gw.app.services, ACTOR, { orgId: gw.org.id, prompts: [], resources: [], ...s });
    await gw.app.federation.sync();
    for (const [name, scopes, only] of [['a', ['*']], ['b', ['*']], ['alpha', ['alpha']], ['vs-a', ['*'], ['a']]] as const) {
      keys[name] = (await createKey(gw.app.services, ACTOR, { orgId: gw.org.id, name, scopes, ...(only === undefined ? {} : { servers: only }) })).key;
    }
  });
  after(async () => {
    await gw.close();
  });

  test('an SSE answer broken off mid-stream is resumed with Last-Event-ID: the rest exactly once, in order', { timeout: 20_000 }, async () => {
    const key = keys.a ?? '';
    const { id: session } = await init(gw.url, key);
    const ac = new AbortController();
    const res = await call(session, key, 'call-1', 'alpha__slow', { ms: 1200, steps: 6 }, { _meta: { progressToken: 'p' } }, ac.signal);
    const seen: SseEvent[] = [];
    for await (const e of sse(res)) if (seen.push(e) === 3) break;
    ac.abort();
    const [priming, ...progress] = seen;
    assert.match(priming?.id ?? '', /^\d+-0$/, 'the first event primes the stream with an id');
    assert.equal(priming?.data, '');
    assert.equal(priming.retry, '1000');
    const streamNo = (priming.id ?? '').split('-')[0] ?? '';
    assert.deepEqual(progress.map((e) => [e.id, rpc(e).params?.progress]), [[`${streamNo}-1`, 1], [`${streamNo}-2`, 2]]);

    const resumed = await collect(await stream(gw.url, key, session, { 'last-event-id': `${streamNo}-2` }, AbortSignal.timeout(10_000)));
    assert.deepEqual(resumed.map((e) => e.id), [3, 4, 5, 6, 7].map((n) => `${streamNo}-${String(n)}`), 'each missed event once, in order');
    assert.deepEqual(resumed.slice(0, 4).map((e) => rpc(e).params?.progress), [3, 4, 5, 6]);
    const answer = rpc(resumed[4] ?? assert.fail('no answer'));
    assert.equal(answer.id, 'call-1');
    assert.deepEqual((answer.result as CallToolResult).content, [{ type: 'text', text: 'done after 1200ms' }]);

    // From the last id there is nothing left; an unknown stream falls back to the standalone stream (primed).
    assert.deepEqual(await collect(await stream(gw.url, key, session, { 'last-event-id': `${streamNo}-7` }, AbortSignal.timeout(5000))), []);
    const ac2 = new AbortController();
    const fallback = await stream(gw.url, key, session, { 'last-event-id': '999-3' }, ac2.signal);
    assert.equal(fallback.status, 200);
    const first = (await sse(fallback).next()).value;
    ac2.abort();
    assert.ok(first?.data === '' && /^\d+-0$/.test(first.id ?? '') && first.id !== `${streamNo}-0`, `expected a fresh primed stream: ${JSON.stringify(first)}`);
  });

  test('a 2025-06-18 session gets no priming event, and still resumable ids', { timeout: 15_000 }, async () => {
    const key = keys.a ?? '';
    const { id: session, version } = await init(gw.url, key, '2025-06-18');
    assert.equal(version, '2025-06-18');
    const events = await collect(await call(session, key, 'old-1', 'alpha__slow', { ms: 300, steps: 3 }, { _meta: { progressToken: 7 } }));
    assert.deepEqual(events.map((e) => seqOf(e)), [1, 2, 3, 4]);
    assert.ok(events.every((e) => e.data !== '' && /^\d+-\d+$/.test(e.id ?? '')));
    assert.equal(rpc(events[3] ?? assert.fail('no answer')).id, 'old-1');
  });

  test('unknown, ended, foreign and wrong-endpoint session ids get 404 alike; none at all gets 400', { timeout: 15_000 }, async () => {
    const [a, b] = [keys.a ?? '', keys.b ?? ''];
    const unknown = await refusal(await rawPost(gw.url, ping, { ...auth(a), 'mcp-session-id': 'x'.repeat(43) }));
    assert.deepEqual(unknown, { status: 404, code: -32004, message: 'Session not found' });
    const { id: session } = await init(gw.url, a);
    assert.equal((await rawPost(gw.url, ping, { ...auth(a), 'mcp-session-id': session })).status, 200);
    assert.deepEqual(await refusal(await rawPost(gw.url, ping, { ...auth(b), 'mcp-session-id': session })), unknown, 'key B presenting A');
    assert.deepEqual(await refusal(await rawPost(serverUrl('b'), ping, { ...auth(a), 'mcp-session-id': session })), unknown, '/mcp session on /servers/b/mcp');
    assert.deepEqual(await refusal(await stream(gw.url, b, session)), unknown, 'GET by key B');
    assert.equal((await fetch(gw.url, { method: 'DELETE', headers: { ...auth(a), 'mcp-session-id': session } })).status, 200);
    assert.deepEqual(await refusal(await rawPost(gw.url, ping, { ...auth(a), 'mcp-session-id': session })), unknown, 'after DELETE');
    assert.deepEqual(await refusal(await stream(gw.url, a, session)), unknown, 'GET after DELETE');
    const none = await refusal(await rawPost(gw.url, ping, auth(a)));
    assert.equal(none.status, 400);
    const foreign = (await gw.app.services.store.listAudit(gw.org.id, 0, 5000)).filter((r) => r.action.endsWith('.foreign_session'));
    assert.ok(foreign.length >= 2, 'presenting a foreign session is audited as such');
  });

  test('each revision negotiates itself; a bad MCP-Protocol-Version is 400; scope refusals are identical on every revision', { timeout: 15_000 }, async () => {
    const key = keys.alpha ?? '';
    const refusals: unknown[] = [];
    for (const [asked, expected] of [['2025-03-26', '2025-03-26'], ['2025-06-18', '2025-06-18'], ['2025-11-25', '2025-11-25'], ['2024-01-01', '2025-11-25']]) {
      const { id, version } = await init(gw.url, key, asked);
      assert.equal(version, expected, asked);
      const headers = { ...auth(key), 'mcp-session-id': id, 'mcp-protocol-version': expected ?? '' };
      const bad = await refusal(await rawPost(gw.url, ping, { ...headers, 'mcp-protocol-version': '2099-12-31' }));
      assert.equal(bad.status, 400, `${asked}: unsupported header`);
      assert.equal((await stream(gw.url, key, id, { 'mcp-protocol-version': '2099-12-31' })).status, 400, `${asked}: GET with unsupported header`);
      for (const name of ['beta__echo', 'beta__nope']) {
        const res = await rawPost(gw.url, { jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name, arguments: { text: 'x' } } }, headers);
        const body = (await res.json()) as Rpc;
        refusals.push({ status: res.status, code: body.error?.code, message: body.error?.message.replace(name, '<tool>') });
      }
    }
    assert.equal(refusals.length, 8);
    for (const r of refusals) assert.deepEqual(r, { status: 200, code: -32602, message: 'Unknown tool: <tool>' });
  });

  test('a 2025-03-26 session takes JSON-RPC batches, each member authorized and audited alone; later revisions refuse them', { timeout: 15_000 }, async () => {
    const key = keys.alpha ?? '';
    const old = await init(gw.url, key, '2025-03-26');
    const headers = { ...auth(key), 'mcp-session-id': old.id, 'mcp-protocol-version': '2025-03-26' };
    const members = [
      { jsonrpc: '2.0', id: 'e', method: 'tools/call', params: { name: 'alpha__echo', arguments: { text: 'in a batch' } } },
      { jsonrpc: '2.0', id: 'x', method: 'tools/call', params: { name: 'beta__echo', arguments: { text: 'out of scope' } } },
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      { jsonrpc: '2.0', id: 'i', method: 'initialize', params: {} },
      { nonsense: true },
    ];
    const res = await rawPost(gw.url, members, headers);
    assert.equal(res.status, 200);
    const answers = new Map(((await res.json()) as Rpc[]).map((a) => [String(a.id), a]));
    assert.equal(answers.size, 4, 'one answer per request and per malformed member, none for the notification');
    assert.deepEqual((answers.get('e')?.result as { content: unknown[] }).content, [{ type: 'text', text: 'in a batch' }]);
    assert.equal(answers.get('x')?.error?.code, -32602);
    assert.match(answers.get('i')?.error?.message ?? '', /initialize must not be part of a batch/);
    assert.equal(answers.get('null')?.error?.code, -32600);
    const audit = await gw.app.services.store.listAudit(gw.org.id, 0, 10_000);
    assert.ok(audit.some((r) => r.action === 'mcp.tools/call' && r.targetName === 'echo' && r.decision === 'allow' && r.args?.includes('in a batch') === true));
    assert.ok(audit.some((r) => r.action === 'mcp.tools/call' && r.decision === 'deny' && r.reason === 'invalid_params:scope'));

    const current = await init(gw.url, key, '2025-11-25');
    for (const h of [{ ...auth(key), 'mcp-session-id': current.id }, auth(key)]) {
      const refused = await refusal(await rawPost(gw.url, [ping], h));
      assert.equal(refused.status, 400);
      assert.match(refused.message, /batches are only accepted on a session of protocol revision 2025-03-26/);
    }
  });

  test('virtual servers: a restricted key works only on its servers; unprefixed names; the rest invisible', { timeout: 20_000 }, async () => {
    const key = keys['vs-a'] ?? '';
    const initBody = { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } };
    assert.equal((await refusal(await rawPost(gw.url, initBody, auth(key)))).status, 403);
    const missing = await refusal(await rawPost(serverUrl('nope'), initBody, auth(gw.ownerKey)));
    assert.equal(missing.status, 404);
    assert.deepEqual(await refusal(await rawPost(serverUrl('nope'), initBody, auth(key))), missing);
    assert.deepEqual(await refusal(await rawPost(serverUrl('b'), initBody, auth(key))), missing, 'a server the key may not use is answered as a missing one');

    const client = await connect(serverUrl('a'), key, 'vs-client');
    try {
      const names = (await client.listTools()).tools.map((t) => t.name).sort();
      assert.deepEqual(names, ['a', 'add', 'alpha__echo', 'beta__echo']);
      const texts = async (name: string, args: Record<string, unknown>) => ((await client.callTool({ name, arguments: args })) as CallToolResult).content;
      assert.deepEqual(await texts('add', { a: 1, b: 2 }), [{ type: 'text', text: '3' }]);
      assert.deepEqual(await texts('a', {}), [{ type: 'text', text: 'extra a' }]);
      assert.deepEqual(await texts('beta__echo', { text: 'b' }), [{ type: 'text', text: 'b' }]);
      const error = (name: string) => client.callTool({ name, arguments: { text: 'x' } }).then(() => 'answered', (e: unknown) => (e instanceof Error ? e.message.replace(name, '<tool>') : String(e)));
      const nonexistent = await error('nope');
      assert.match(nonexistent, /Unknown tool: <tool>/);
      for (const hidden of ['echo', 'slow', 'pid', 'alpha__slow', 'beta__add', 'alpha__pid', 'dotted.name']) assert.equal(await error(hidden), nonexistent, hidden);
    } finally {
      await client.close();
    }
  });
});

describe('session limits and idle reaping', () => {
  let gw: Gateway;
  before(async () => {
    gw = await startGateway({ GATEHOUSE_MAX_SESSIONS_PER_KEY: '3', GATEHOUSE_SESSION_IDLE_SECONDS: '10' });
    await addAndConnect(gw, stdioFixture('fx'));
  });
  after(async () => {
    await gw.close();
  });
  const newKey = async (name: string) => (await createKey(gw.app.services, ACTOR, { orgId: gw.org.id, name, scopes: ['*'] })).key;
  const sessionObject = (id: string) => [...gw.app.sessions.ofOrg(gw.org.id)].find((s) => s.id === id) ?? assert.fail('no such session');
  const ping = (key: string, session: string) => rawPost(gw.url, { jsonrpc: '2.0', id: 1, method: 'ping' }, { ...auth(key), 'mcp-session-id': session });

  test('the fourth open session of a key is refused with 429 and audited; ending one makes room; other keys are unaffected', { timeout: 15_000 }, async () => {
    const [key, other] = [await newKey('capped'), await newKey('other')];
    const opened = [await init(gw.url, key), await init(gw.url, key), await init(gw.url, key)];
    assert.deepEqual(opened.map((s) => s.status), [200, 200, 200]);
    const fourth = await rawPost(gw.url, { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }, auth(key));
    assert.equal(fourth.status, 429);
    assert.equal(fourth.headers.get('mcp-session-id'), null);
    const records = await gw.app.services.store.listAudit(gw.org.id, 0, 5000);
    assert.ok(records.some((r) => r.action === 'mcp.initialize' && r.decision === 'deny' && r.reason === 'too_many_sessions'), 'the refusal is audited');
    assert.equal((await init(gw.url, other)).status, 200, 'another key is not limited by this one');
    assert.equal((await fetch(gw.url, { method: 'DELETE', headers: { ...auth(key), 'mcp-session-id': opened[0]?.id ?? '' } })).status, 200);
    assert.equal((await init(gw.url, key)).status, 200);
  });

  test('an idle session is reaped: it answers 404 and its own upstream process exits; others keep working', { timeout: 30_000 }, async () => {
    const key = await newKey('idle');
    const pidOf = async (session: string) => {
      const body = (await (await rawPost(gw.url, { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'fx__pid', arguments: {} } }, { ...auth(key), 'mcp-session-id': session })).json()) as Rpc;
      // The host's pid: in a sandbox the process sees a number of its own PID namespace.
      return hostPidOfPidResult(body.result);
    };
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    const open = (id: string) => [...gw.app.sessions.ofOrg(gw.org.id)].some((s) => s.id === id);
    const idle = (await init(gw.url, key, '2025-11-25', { elicitation: {} })).id;
    const fresh = (await init(gw.url, key, '2025-11-25', { elicitation: {} })).id;
    const plain = (await init(gw.url, key)).id;
    const [ownPid, freshPid, sharedPid] = [await pidOf(idle), await pidOf(fresh), await pidOf(plain)];
    assert.ok(ownPid !== sharedPid && freshPid !== sharedPid && ownPid !== freshPid, 'sessions that answer requests have upstream processes of their own');

    sessionObject(idle).lastSeen = Date.now() - 11_000;
    sessionObject(fresh).lastSeen = Date.now() - 9_000;
    await gw.app.sessions.reap(10_000, () => Promise.resolve(true));
    assert.equal((await ping(key, idle)).status, 404);
    assert.equal((await ping(key, fresh)).status, 200);
    await waitFor(() => !alive(ownPid), 5000, "the reaped session's upstream process to exit");
    assert.ok(alive(freshPid) && alive(sharedPid), 'other upstream processes keep running');

    // The gateway's own reaper (every 5 s) applies GATEHOUSE_SESSION_IDLE_SECONDS: 11 s idle is over 10, far under the
    // default. Watched from the registry: a request would make the session busy again.
    assert.equal((await ping(key, plain)).status, 200);
    sessionObject(fresh).lastSeen = Date.now() - 11_000;
    await waitFor(() => !open(fresh), 8000, 'the reaper to end the idle session');
    assert.ok(open(plain), 'a session in use is not reaped');
    assert.equal((await ping(key, fresh)).status, 404);
    await waitFor(() => !alive(freshPid), 5000, "the second reaped session's upstream process to exit");
    assert.equal((await ping(key, plain)).status, 200);
  });
});
