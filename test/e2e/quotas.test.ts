// Quotas on what a key may hold open, through a running gateway: sessions per organisation, GET streams per key,
// and the upstream processes a key's sessions start of their own (a session whose client answers requests gets its
// own connection, and over stdio that is a process on the host). A refusal is 429 / -32033 and holds nothing; what
// is released (a closed session, a closed stream) can be taken again.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema, McpError } from '@modelcontextprotocol/sdk/types.js';
import { operatorActor } from '../../src/services/context.ts';
import { createKey } from '../../src/services/keys.ts';
import { api } from './admin-client.ts';
import { addAndConnect, rawPost, runCli, startGateway, stdioFixture, waitFor, type Gateway } from './harness.ts';

const INIT = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'quota-e2e', version: '1' } } };

describe('quotas on what a key holds open', () => {
  let gw: Gateway;
  const open: Client[] = [];
  const transports = new Map<Client, StreamableHTTPClientTransport>();

  before(async () => {
    gw = await startGateway({
      GATEHOUSE_MAX_SESSIONS_PER_KEY: '50',
      GATEHOUSE_MAX_SESSIONS_PER_ORG: '6',
      GATEHOUSE_MAX_STREAMS_PER_KEY: '1',
      GATEHOUSE_MAX_PROCESSES_PER_KEY: '1',
    });
    await addAndConnect(gw, stdioFixture('fx'));
  });
  after(async () => {
    for (const c of open) await c.close().catch(() => undefined);
    await gw.close();
  });

  async function newKey(name: string): Promise<string> {
    return (await createKey(gw.app.services, operatorActor('quota-e2e'), { orgId: gw.org.id, name, scopes: ['*'] })).key;
  }

  /** A session whose client answers elicitation: the gateway opens upstream connections of its own for it. */
  async function answering(key: string): Promise<Client> {
    const client = new Client({ name: 'answering', version: '1.0.0' }, { capabilities: { elicitation: {} } });
    client.setRequestHandler(ElicitRequestSchema, () => ({ action: 'decline' }));
    const transport = new StreamableHTTPClientTransport(new URL(gw.url), { requestInit: { headers: { Authorization: `Bearer ${key}` } } });
    await client.connect(transport);
    open.push(client);
    transports.set(client, transport);
    return client;
  }

  async function initialize(key: string): Promise<{ status: number; session: string | null; body: string }> {
    const res = await rawPost(gw.url, INIT, { authorization: `Bearer ${key}` });
    return { status: res.status, session: res.headers.get('mcp-session-id'), body: await res.text() };
  }

  async function end(key: string, session: string): Promise<void> {
    const res = await fetch(gw.url, { method: 'DELETE', headers: { authorization: `Bearer ${key}`, 'mcp-session-id': session } });
    assert.equal(res.status, 200);
  }

  test('an organisation holds at most its sessions, whichever of its keys opened them', async () => {
    const a = await newKey('sessions-a');
    const b = await newKey('sessions-b');
    const opened: { key: string; session: string }[] = [];
    for (let i = 0; i < 6; i++) {
      const key = i % 2 === 0 ? a : b;
      const r = await initialize(key);
      assert.equal(r.status, 200, r.body);
      assert.ok(r.session !== null);
      opened.push({ key, session: r.session });
    }
    const refused = await initialize(await newKey('sessions-c'));
    assert.equal(refused.status, 429, 'a seventh session of the organisation, even from a fresh key');
    assert.match(refused.body, /organisation already holds 6 open sessions/);
    const first = opened[0];
    assert.ok(first !== undefined);
    await end(first.key, first.session);
    assert.equal((await initialize(b)).status, 200, 'an ended session is given back');
    for (const o of opened.slice(1)) await end(o.key, o.session);
  });

  test("an organisation lowers a ceiling for its keys (API and CLI), and cannot lift the gateway's", async () => {
    const set = await api(gw, gw.ownerKey, 'PUT', '/traffic/quotas/session', { perKey: 2 });
    assert.equal(set.status, 200, set.text);
    assert.deepEqual((set.body as { quotas: unknown }).quotas, { perKey: { session: 2 }, perOrg: {} });
    assert.equal((await api(gw, gw.ownerKey, 'PUT', '/traffic/quotas/session', { perKey: -1 })).status, 400);
    assert.equal((await api(gw, gw.ownerKey, 'PUT', '/traffic/quotas/sockets', { perKey: 1 })).status, 400);
    const key = await newKey('own-ceiling');
    const opened: string[] = [];
    for (let i = 0; i < 2; i++) {
      const r = await initialize(key);
      assert.equal(r.status, 200, r.body);
      opened.push(r.session ?? '');
    }
    const refused = await initialize(key);
    assert.equal(refused.status, 429, "a third session: the organisation's own ceiling of 2, below the gateway's 50");
    assert.match(refused.body, /This key already holds 2 open sessions/);
    const otherKey = await newKey('own-ceiling-other');
    const other = await initialize(otherKey);
    assert.equal(other.status, 200, 'another key of the organisation has its own two');
    await end(otherKey, other.session ?? '');
    const cli = await runCli(gw, ['traffic', 'quota', 'session', '--per-key', 'default', '--per-org', 'default']);
    assert.equal(cli.code, 0, cli.stderr);
    const again = await initialize(key);
    assert.equal(again.status, 200, 'back to the gateway ceiling');
    opened.push(again.session ?? '');
    const shown = await runCli(gw, ['traffic', 'show', '--json']);
    assert.deepEqual((JSON.parse(shown.stdout) as { quotas: unknown }).quotas, { perKey: {}, perOrg: {} });
    for (const session of opened) await end(key, session);
  });

  test('a key holds at most its streams: a second GET stream of another session is refused until the first closes', async () => {
    const key = await newKey('streams');
    const s1 = await initialize(key);
    const s2 = await initialize(key);
    assert.ok(s1.session !== null && s2.session !== null);
    const controller = new AbortController();
    const first = await fetch(gw.url, { headers: { authorization: `Bearer ${key}`, 'mcp-session-id': s1.session, accept: 'text/event-stream' }, signal: controller.signal });
    assert.equal(first.status, 200);
    const second = await fetch(gw.url, { headers: { authorization: `Bearer ${key}`, 'mcp-session-id': s2.session, accept: 'text/event-stream' } });
    assert.equal(second.status, 429);
    const body = (await second.json()) as { error: { code: number; message: string } };
    assert.equal(body.error.code, -32033);
    assert.match(body.error.message, /This key already holds 1 open streams/);
    const records = await gw.app.services.store.listAudit(gw.org.id, 0, 100_000);
    assert.ok(records.some((r) => r.action === 'mcp.stream' && r.decision === 'deny' && r.reason === 'quota_exceeded'), 'the refusal is audited');
    controller.abort();
    await waitFor(async () => {
      const again = await fetch(gw.url, { headers: { authorization: `Bearer ${key}`, 'mcp-session-id': s2.session ?? '', accept: 'text/event-stream' } });
      const ok = again.status === 200;
      await again.body?.cancel();
      return ok;
    }, 5000, 'the stream to be given back');
    await end(key, s1.session);
    await end(key, s2.session);
  });

  test("a key's sessions start at most its upstream processes; closing a session gives its process back", async () => {
    const key = await newKey('processes');
    const one = await answering(key);
    const two = await answering(key);
    const r = await one.callTool({ name: 'fx__echo', arguments: { text: 'own process' } });
    assert.ok(!('isError' in r && r.isError === true));
    const err = await two.callTool({ name: 'fx__echo', arguments: { text: 'a second process' } }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof McpError, 'the second session of the key may not start a second process');
    assert.equal(err.code, -32033);
    assert.match(err.message, /upstream processes of its sessions/);
    const other = await answering(await newKey('processes-other'));
    await other.callTool({ name: 'fx__echo', arguments: { text: 'another key has its own' } });
    // Ending the session (DELETE) closes its connections; a client that only drops its transport leaves the session
    // to the idle timeout.
    await transports.get(one)?.terminateSession();
    await one.close();
    await waitFor(async () => {
      try {
        await two.callTool({ name: 'fx__echo', arguments: { text: 'now' } });
        return true;
      } catch {
        return false;
      }
    }, 10_000, 'the process to be given back');
  });
});
