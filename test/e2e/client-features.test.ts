// What upstreams ask of and tell the client through the gateway: elicitation, sampling, roots, logging, completion,
// resource subscriptions, progress and cancellation in both directions, each routed to the calling session and to no
// other, and every upstream->client request audited. Upstreams: the conformance fixture over stdio and Streamable
// HTTP, and the project's fixture (with its client-feature tools) over stdio and HTTP.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CreateMessageRequestSchema, ElicitRequestSchema, ListRootsRequestSchema, LoggingMessageNotificationSchema, McpError, ResourceUpdatedNotificationSchema,
  type CallToolResult, type ClientCapabilities, type ElicitRequest, type ElicitResult, type Root,
} from '@modelcontextprotocol/sdk/types.js';
import { verifyChain } from '../../src/gateway/audit/verify.ts';
import { operatorActor } from '../../src/services/context.ts';
import { createKey } from '../../src/services/keys.ts';
import { createVirtualServer } from '../../src/services/virtual-servers.ts';
import { startConformanceHttpServer, type ConformanceHttpServer } from '../fixtures/conformance-server.ts';
import { addAndConnect, FIXTURE, httpConnector, NODE, ROOT, startGateway, stdioFixture, stop, waitFor, type Gateway } from './harness.ts';

type ElicitHandler = (params: ElicitRequest['params'], signal: AbortSignal, progressToken: unknown, notify: (progress: number) => Promise<void>) => Promise<ElicitResult>;
interface Features { elicit?: ElicitHandler; sample?: boolean; roots?: Root[]; path?: string }
interface Opened { client: Client; elicited: string[]; sampled: string[]; logs: string[]; updates: string[]; roots: Root[] }

const CONF_FIXTURE = join(ROOT, 'test/fixtures/conformance-server.ts');
const CLIENT_TOOLS = [{ name: 'FIXTURE_CLIENT_TOOLS', value: '1', secret: false }];

const text = (r: unknown): string => {
  const first = (r as CallToolResult).content[0];
  assert.ok(first?.type === 'text', `expected text content: ${JSON.stringify(r)}`);
  return first.text;
};
const json = (r: unknown): Record<string, unknown> => JSON.parse(text(r)) as Record<string, unknown>;
const accept = (answer: Record<string, unknown>): ElicitHandler => () => Promise.resolve({ action: 'accept', content: answer as ElicitResult['content'] });
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The project's fixture with its client-feature tools, over Streamable HTTP, as its own process. */
async function startFixtureHttp(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(NODE, [FIXTURE, '--http', '--port', '0'], { env: { ...process.env, FIXTURE_CLIENT_TOOLS: '1' }, stdio: ['ignore', 'pipe', 'ignore'] });
  const [line] = (await once(child.stdout, 'data', { signal: AbortSignal.timeout(15_000) })) as unknown[];
  const m = /^LISTENING (\S+)/.exec(String(line));
  if (m?.[1] === undefined) throw new Error(`fixture did not start: ${String(line)}`);
  return { url: m[1], child };
}

describe('client features through the gateway', () => {
  let gw: Gateway;
  let confHttp: ConformanceHttpServer;
  let fxHttp: { url: string; child: ChildProcess };
  const keys: Record<string, { key: string; id: string }> = {};
  const clients: Client[] = [];

  async function open(who: string, name: string, f: Features = {}): Promise<Opened> {
    const caps: ClientCapabilities = {
      ...(f.elicit === undefined ? {} : { elicitation: {} }),
      ...(f.sample === true ? { sampling: {} } : {}),
      ...(f.roots === undefined ? {} : { roots: { listChanged: true } }),
    };
    const client = new Client({ name, version: '1.0.0' }, { capabilities: caps });
    const o: Opened = { client, elicited: [], sampled: [], logs: [], updates: [], roots: f.roots ?? [] };
    const elicit = f.elicit;
    if (elicit !== undefined) {
      client.setRequestHandler(ElicitRequestSchema, (req, extra) => {
        o.elicited.push(req.params.message);
        const notify = (progress: number) => extra.sendNotification({ method: 'notifications/progress', params: { progressToken: req.params._meta?.progressToken ?? '', progress, total: 2 } });
        return elicit(req.params, extra.signal, req.params._meta?.progressToken, notify);
      });
    }
    if (f.sample === true) {
      client.setRequestHandler(CreateMessageRequestSchema, (req) => {
        const c = req.params.messages[0]?.content;
        const prompt = c !== undefined && !Array.isArray(c) && c.type === 'text' ? c.text : '?';
        o.sampled.push(prompt);
        return { model: 'test-model', role: 'assistant', content: { type: 'text', text: `reply to ${prompt}` } };
      });
    }
    if (f.roots !== undefined) client.setRequestHandler(ListRootsRequestSchema, () => ({ roots: o.roots }));
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void o.logs.push(String(n.params.data)));
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void o.updates.push(n.params.uri));
    const headers = { Authorization: `Bearer ${keys[who]?.key ?? gw.ownerKey}` };
    await client.connect(new StreamableHTTPClientTransport(new URL(f.path ?? '/mcp', gw.url), { requestInit: { headers } }));
    clients.push(client);
    return o;
  }

  const call = (o: Opened, name: string, args: Record<string, unknown> = {}) => o.client.callTool({ name, arguments: args });

  before(async () => {
    gw = await startGateway();
    [confHttp, fxHttp] = await Promise.all([startConformanceHttpServer(), startFixtureHttp()]);
    await addAndConnect(gw, { name: 'conf', type: 'stdio', command: NODE, args: [CONF_FIXTURE, '--stdio'], env: [] });
    await addAndConnect(gw, httpConnector('confh', confHttp.url));
    await addAndConnect(gw, stdioFixture('fx', CLIENT_TOOLS));
    await addAndConnect(gw, httpConnector('fxh', fxHttp.url));
    await createVirtualServer(gw.app.services, operatorActor('test'), { orgId: gw.org.id, name: 'watch', tools: ['conf/test_update_watched_resource'], prompts: [], resources: ['conf'], unprefixed: true });
    for (const [name, scopes, servers] of [['a', ['*']], ['b', ['*']], ['fx', ['fx']], ['vs', ['*'], ['watch']]] as const) {
      const { key, record } = await createKey(gw.app.services, operatorActor('test'), { orgId: gw.org.id, name, scopes, ...(servers === undefined ? {} : { servers }) });
      keys[name] = { key, id: record.id };
    }
  });
  after(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await gw.close();
    await confHttp.close();
    await stop(fxHttp.child);
  });

  test('elicitation, sampling and progress cross the gateway, via stdio and Streamable HTTP upstreams', { timeout: 20_000 }, async () => {
    const o = await open('a', 'asker', { elicit: accept({ username: 'ann', email: 'ann@example.com' }), sample: true });
    for (const conn of ['conf', 'confh']) {
      // The session has connections of its own (it answers requests); progress travels on them too.
      const seen: number[] = [];
      await o.client.callTool({ name: `${conn}__test_tool_with_progress`, arguments: {} }, undefined, { onprogress: (p) => void seen.push(p.progress) });
      assert.deepEqual(seen, [0, 50, 100], conn);
      const elicited = text(await call(o, `${conn}__test_elicitation`, { message: `who are you? (${conn})` }));
      assert.match(elicited, /action=accept/);
      assert.match(elicited, /"username":"ann"/);
      assert.equal(text(await call(o, `${conn}__test_sampling`, { prompt: `haiku via ${conn}` })), `LLM response: reply to haiku via ${conn}`);
    }
    assert.deepEqual(o.elicited, ['who are you? (conf)', 'who are you? (confh)']);
    assert.deepEqual(o.sampled, ['haiku via conf', 'haiku via confh']);
  });

  test('concurrent elicitations reach only their own session; a client without elicitation gets the refusal', { timeout: 20_000 }, async () => {
    const answering = (who: string): ElicitHandler => async () => {
      await pause(150);
      return { action: 'accept', content: { username: who, email: `${who}@example.com` } };
    };
    const sessions = await Promise.all([['a', 'a1'], ['a', 'a2'], ['b', 'b1']].map(([key = '', who = '']) => open(key, who, { elicit: answering(who) })));
    const plain = await open('a', 'no-elicitation');
    const calls = sessions.flatMap((o, i) => ['conf', 'confh'].map((conn) => call(o, `${conn}__test_elicitation`, { message: `for ${String(i)} via ${conn}` })));
    const refused = await Promise.allSettled([call(plain, 'conf__test_elicitation', { message: 'for plain' }), call(plain, 'confh__test_elicitation', { message: 'for plain' })]);
    const results = await Promise.all(calls);
    sessions.forEach((o, i) => {
      const who = ['a1', 'a2', 'b1'][i] ?? '';
      assert.deepEqual([...o.elicited].sort(), [`for ${String(i)} via conf`, `for ${String(i)} via confh`], `${who} saw only its own prompts`);
      for (const r of results.slice(i * 2, i * 2 + 2)) assert.match(text(r), new RegExp(`"username":"${who}"`));
    });
    for (const r of refused) {
      assert.ok(r.status === 'rejected' && r.reason instanceof McpError, 'a client without elicitation must be refused');
      assert.match(r.reason.message, /Connector 'confh?' returned an error/);
    }
  });

  test("roots/list returns the calling client's roots; roots/list_changed reaches that session's upstream only", { timeout: 20_000 }, async () => {
    const ra = await open('a', 'roots-a', { roots: [{ uri: 'file:///work/ra', name: 'ra' }] });
    const rb = await open('a', 'roots-b', { roots: [{ uri: 'file:///work/rb', name: 'rb' }] });
    const [a, b] = await Promise.all([call(ra, 'fx__list_roots'), call(rb, 'fx__list_roots')]);
    assert.deepEqual(json(a), { roots: [{ uri: 'file:///work/ra', name: 'ra' }], listChanged: 0 });
    assert.deepEqual(json(b), { roots: [{ uri: 'file:///work/rb', name: 'rb' }], listChanged: 0 });
    ra.roots = [{ uri: 'file:///work/ra2', name: 'ra2' }];
    await ra.client.sendRootsListChanged();
    await waitFor(async () => json(await call(ra, 'fx__list_roots')).listChanged === 1, 5000, 'roots/list_changed to reach the upstream');
    assert.deepEqual(json(await call(ra, 'fx__list_roots')).roots, [{ uri: 'file:///work/ra2', name: 'ra2' }]);
    assert.equal(json(await call(rb, 'fx__list_roots')).listChanged, 0, "another session's upstream was told");
  });

  test('logging/setLevel, then log lines arrive during the call; lines below the level are not sent', { timeout: 20_000 }, async () => {
    const watcher = await open('a', 'other-listener');
    await watcher.client.setLoggingLevel('debug');
    for (const conn of ['conf', 'confh']) {
      const o = await open('a', `logger-${conn}`);
      await o.client.setLoggingLevel('info');
      const result = await call(o, `${conn}__test_tool_with_logging`);
      o.logs.push('<result>');
      assert.equal(text(result), 'Tool with logging executed successfully');
      assert.deepEqual(o.logs, ['Tool execution started', 'Tool processing data', 'Tool execution completed', '<result>']);
      await o.client.setLoggingLevel('warning');
      await call(o, `${conn}__test_tool_with_logging`);
      await pause(100);
      assert.equal(o.logs.length, 4, `info lines sent after setLevel warning via ${conn}`);
    }
    assert.deepEqual(watcher.logs, [], "another session received this session's log lines");
  });

  test('completion/complete for a prompt argument and a resource template, in the endpoint\'s names', { timeout: 15_000 }, async () => {
    const o = await open('a', 'completer');
    const prompt = await o.client.complete({ ref: { type: 'ref/prompt', name: 'conf__test_prompt_with_arguments' }, argument: { name: 'arg1', value: 'par' } });
    assert.deepEqual(prompt.completion.values, ['paris', 'park', 'party']);
    const template = await o.client.complete({ ref: { type: 'ref/resource', uri: 'confh+test://template/{id}/data' }, argument: { name: 'id', value: '1' } });
    assert.deepEqual(template.completion.values, ['1', '123']);
    const v = await open('vs', 'vs-completer', { path: '/servers/watch/mcp' });
    const raw = await v.client.complete({ ref: { type: 'ref/resource', uri: 'test://template/{id}/data' }, argument: { name: 'id', value: '12' } });
    assert.deepEqual(raw.completion.values, ['123']);
  });

  test('resources/subscribe: updates arrive in the client\'s URI form until unsubscribed; out-of-scope is unknown', { timeout: 20_000 }, async () => {
    for (const [key, path, uri, tool] of [
      ['a', '/mcp', 'conf+test://watched-resource', 'conf__test_update_watched_resource'],
      ['a', '/mcp', 'confh+test://watched-resource', 'confh__test_update_watched_resource'],
      ['vs', '/servers/watch/mcp', 'test://watched-resource', 'test_update_watched_resource'],
    ] as const) {
      const o = await open(key, `sub-${uri}`, { path });
      await o.client.subscribeResource({ uri });
      await call(o, tool);
      await waitFor(() => o.updates.length > 0, 5000, `an update for ${uri}`);
      assert.deepEqual(o.updates, [uri]);
      await o.client.unsubscribeResource({ uri });
      await call(o, tool);
      await pause(200);
      assert.deepEqual(o.updates, [uri], `update after unsubscribe (${uri})`);
    }
    const scoped = await open('fx', 'fx-only');
    const error = async (uri: string) => {
      const e: unknown = await scoped.client.subscribeResource({ uri }).then(() => undefined, (err: unknown) => err);
      assert.ok(e instanceof McpError, `subscribing to ${uri} must fail`);
      return [e.code, e.message];
    };
    assert.deepEqual(await error('conf+test://watched-resource'), await error('zeta+test://watched-resource'));
  });

  // Regression: client progress for an upstream's request used to be answered 202 and dropped.
  test('progress from the client on an elicitation reaches the upstream', { timeout: 15_000 }, async () => {
    const o = await open('a', 'progress-back', {
      elicit: async (_p, _s, token, notify) => {
        assert.ok(token !== undefined, 'the upstream asked for progress');
        for (const n of [1, 2]) await notify(n);
        return { action: 'accept', content: { answer: 'done' } };
      },
    });
    const answered = json(await call(o, 'fx__elicit', { message: 'with progress', progress: true }));
    assert.deepEqual(answered.content, { answer: 'done' });
    assert.equal(answered.progressSeen, 2, 'the upstream saw the client\'s progress');
  });

  test('cancellation from the client reaches the upstream, on a session\'s own connection and on the shared one', { timeout: 20_000 }, async () => {
    const own = await open('b', 'canceller', { elicit: accept({ answer: 'x' }) });
    const plain = await open('b', 'plain-canceller');
    for (const [who, conn] of [[own, 'fx'], [own, 'fxh'], [plain, 'fxh']] as const) {
      const tag = `${who === own ? 'own' : 'shared'}-${conn}`;
      // Open the session's connection first: a call cancelled while it is being set up never reaches the upstream.
      await call(who, `${conn}__cancelled_waits`);
      const ac = new AbortController();
      const pending = who.client.callTool({ name: `${conn}__wait`, arguments: { ms: 20_000, tag } }, undefined, { signal: ac.signal });
      await pause(300);
      ac.abort(new Error('stop'));
      await assert.rejects(pending, /stop/);
      const cancelled = async () => (JSON.parse(text(await call(who, `${conn}__cancelled_waits`))) as string[]).includes(tag);
      await waitFor(cancelled, 5000, `${tag} to be cancelled upstream`);
    }
  });

  /** A client that answers prompts starting with 'answer' and holds every other one until it is cancelled. */
  async function withdrawable(name: string): Promise<{ o: Opened; aborted: string[] }> {
    const aborted: string[] = [];
    const o = await open('b', name, {
      elicit: (p, signal) =>
        p.message.startsWith('answer')
          ? Promise.resolve({ action: 'accept', content: { answer: 'yes' } })
          : new Promise((resolve) => {
              signal.addEventListener('abort', () => {
                aborted.push(p.message);
                resolve({ action: 'cancel' });
              });
            }),
    });
    return { o, aborted };
  }

  test('an upstream that withdraws its elicitation leads to notifications/cancelled at the client', { timeout: 20_000 }, async () => {
    const { o, aborted } = await withdrawable('withdrawn');
    for (const conn of ['fx', 'fxh']) {
      // One answered first: the upstream's first request on a connection has id 0 (see the next test).
      assert.equal(json(await call(o, `${conn}__elicit`, { message: 'answer me' })).action, 'accept');
      const r = json(await call(o, `${conn}__elicit`, { message: `withdrawn via ${conn}`, cancelAfterMs: 300 }));
      assert.ok(typeof r.error === 'string', `the upstream's elicitation should have been cancelled: ${JSON.stringify(r)}`);
    }
    await waitFor(() => aborted.length === 2, 3000, 'notifications/cancelled to reach the client for both elicitations');
    assert.deepEqual(aborted, ['withdrawn via fx', 'withdrawn via fxh']);
  });

  // KNOWN BUG (reported to the lead): the SDK 1.32.2 Protocol._oncancel drops a cancellation of request id 0
  // (typescript-sdk#2283), the id of an upstream's first request to the client. The session upstream client
  // (src/gateway/upstream/session-upstreams.ts) relies on it, so the first sampling/elicitation/roots request of every
  // session connection cannot be withdrawn: the prompt stays open and its late answer is audited as allowed.
  test("an upstream's first request on a connection (id 0) can be withdrawn too", { timeout: 15_000 }, async () => {
    const { o, aborted } = await withdrawable('withdrawn-first');
    const r = json(await call(o, 'fx__elicit', { message: 'withdrawn first', cancelAfterMs: 300 }));
    assert.ok(typeof r.error === 'string');
    await waitFor(() => aborted.length === 1, 2000, 'notifications/cancelled for the first elicitation');
  });

  test('every upstream->client request is audited in the organisation\'s chain', { timeout: 15_000 }, async () => {
    const records = await gw.app.services.store.listAudit(gw.org.id, 0, 5000);
    const client = records.filter((r) => r.action.startsWith('mcp.client.'));
    const has = (action: string, connector: string, key: string, decision = 'allow') => {
      const found = client.some((r) => r.action === action && r.targetConnector === connector && r.actorKeyId === keys[key]?.id && r.decision === decision);
      assert.ok(found, `${action} ${connector} ${key} ${decision}`);
    };
    for (const conn of ['conf', 'confh']) for (const [action, key] of [['elicitation/create', 'a'], ['sampling/createMessage', 'a'], ['elicitation/create', 'b']]) has(`mcp.client.${action ?? ''}`, conn, key ?? '');
    has('mcp.client.roots/list', 'fx', 'a');
    for (const conn of ['fx', 'fxh']) has('mcp.client.elicitation/create', conn, 'b', 'error');
    assert.ok(client.some((r) => r.decision === 'error' && r.reason === 'request_cancelled'));
    const report = await verifyChain(gw.app.services.store, gw.org.id);
    assert.ok(report.ok, JSON.stringify(report.firstBreak));
  });
});
