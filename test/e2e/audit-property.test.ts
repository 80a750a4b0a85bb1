// One audit record per request, whatever ended it: a mixed run of every method the endpoints serve and every refusal
// we can provoke (authentication, network, media types, bodies, sessions, batches, 2026-07-28 envelopes, unknown
// targets, scopes, upstream faults), each counted, against the rows the run added; on SQLite and on PostgreSQL. The
// run includes hostile strings (lone UTF-16 surrogates, NUL) in names and arguments, and the chain verifies after it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { SYSTEM_CHAIN } from '../../src/gateway/audit/audit-log.ts';
import { createKey } from '../../src/services/keys.ts';
import { operatorActor } from '../../src/services/context.ts';
import type { AuditRecord } from '../../src/store/types.ts';
import { initRolesSql } from '../../src/store/postgres/roles.ts';
import { addAndConnect, rawPost, runCli, startGateway, stdioFixture, type Gateway } from './harness.ts';

const PG_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/test';
const INIT = (version: string) => ({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: version, capabilities: {}, clientInfo: { name: 'prop', version: '1' } } });
const LONE = '\ud800';

/** Sends each request, remembering how many records its correlation id must own (a batch: one per request in it). */
class Ledger {
  readonly expected = new Map<string, number>();
  total = 0;

  async send(what: string, records: number, res: Promise<Response> | Response, status?: number): Promise<Response> {
    const r = await res;
    const id = r.headers.get('x-correlation-id');
    assert.ok(id !== null, `${what}: no correlation id`);
    if (status !== undefined && r.status !== status) assert.fail(`${what}: status ${String(r.status)}, expected ${String(status)}, body ${await r.text()}`);
    // Streams stay open: read what we need and drop the rest.
    if ((r.headers.get('content-type') ?? '').startsWith('text/event-stream')) await r.body?.cancel();
    else await r.arrayBuffer();
    assert.ok(!this.expected.has(id), `${what}: correlation id reused`);
    this.expected.set(id, records);
    this.total += records;
    return r;
  }
}

function sessionHeaders(key: string, session: string, version = '2025-11-25'): Record<string, string> {
  return { authorization: `Bearer ${key}`, 'mcp-session-id': session, 'mcp-protocol-version': version };
}

async function openSession(ledger: Ledger, url: string, key: string, version = '2025-11-25'): Promise<string> {
  const res = await ledger.send(`initialize ${version}`, 1, rawPost(url, INIT(version), { authorization: `Bearer ${key}` }), 200);
  const id = res.headers.get('mcp-session-id');
  assert.ok(id !== null);
  return id;
}

/** Every kind of request and refusal, once or more; returns the ledger of what must have been recorded. */
async function mixedRun(gw: Gateway, scopedKey: string): Promise<Ledger> {
  const l = new Ledger();
  const url = gw.url;
  const key = gw.ownerKey;
  const auth = { authorization: `Bearer ${key}` };
  const s = await openSession(l, url, key);
  const h = sessionHeaders(key, s);
  const rpc = (id: number, method: string, params: Record<string, unknown> = {}) => ({ jsonrpc: '2.0', id, method, params });

  await l.send('initialized', 1, rawPost(url, { jsonrpc: '2.0', method: 'notifications/initialized' }, h), 202);
  await l.send('ping', 1, rawPost(url, rpc(1, 'ping'), h), 200);
  for (const method of ['tools/list', 'prompts/list', 'resources/list', 'resources/templates/list']) await l.send(method, 1, rawPost(url, rpc(2, method), h), 200);
  await l.send('tools/call', 1, rawPost(url, rpc(3, 'tools/call', { name: 'fx__echo', arguments: { text: 'hi' } }), h), 200);
  await l.send('tool error', 1, rawPost(url, rpc(4, 'tools/call', { name: 'fx__fail', arguments: {} }), h), 200);
  await l.send('unknown tool', 1, rawPost(url, rpc(5, 'tools/call', { name: 'fx__nope' }), h), 200);
  await l.send('lone surrogate tool', 1, rawPost(url, `{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"fx__\\ud800x","arguments":{"a":"\\udfff"}}}`, h), 200);
  await l.send('NUL tool', 1, rawPost(url, rpc(7, 'tools/call', { name: `fx__echo\0`, arguments: { text: `a\0b${LONE}` } }), h), 200);
  await l.send('surrogate in args', 1, rawPost(url, rpc(8, 'tools/call', { name: 'fx__echo', arguments: { text: `x${LONE}y` } }), h), 200);
  await l.send('no name', 1, rawPost(url, rpc(9, 'tools/call', {}), h), 200);
  await l.send('prompts/get', 1, rawPost(url, rpc(10, 'prompts/get', { name: 'fx__greet', arguments: { name: 'a' } }), h), 200);
  await l.send('unknown prompt', 1, rawPost(url, rpc(11, 'prompts/get', { name: `fx__${LONE}` }), h), 200);
  await l.send('resources/read', 1, rawPost(url, rpc(12, 'resources/read', { uri: 'fx+fixture://static/hello' }), h), 200);
  await l.send('unknown resource', 1, rawPost(url, rpc(13, 'resources/read', { uri: `nope+${LONE}` }), h), 200);
  await l.send('completion', 1, rawPost(url, rpc(14, 'completion/complete', { ref: { type: 'ref/prompt', name: 'fx__greet' }, argument: { name: 'name', value: 'a' } }), h), 200);
  await l.send('bad completion', 1, rawPost(url, rpc(15, 'completion/complete', { ref: { type: 'ref/other' } }), h), 200);
  await l.send('setLevel', 1, rawPost(url, rpc(16, 'logging/setLevel', { level: 'info' }), h), 200);
  await l.send('bad level', 1, rawPost(url, rpc(17, 'logging/setLevel', { level: 'loud' }), h), 200);
  await l.send('subscribe', 1, rawPost(url, rpc(18, 'resources/subscribe', { uri: 'fx+fixture://static/hello' }), h), 200);
  await l.send('unknown method', 1, rawPost(url, rpc(19, `no/such${LONE}`), h), 200);
  await l.send('response to nothing', 1, rawPost(url, { jsonrpc: '2.0', id: 'gatehouse-999', result: {} }, h), 400);

  // Refusals before a JSON-RPC request is read.
  await l.send('no credential', 1, rawPost(url, rpc(20, 'ping'), {}), 401);
  await l.send('bad key', 1, rawPost(url, rpc(21, 'ping'), { authorization: 'Bearer gth_not_a_key' }), 401);
  await l.send('wrong media type', 1, rawPost(url, JSON.stringify(rpc(22, 'ping')), { ...h, 'content-type': 'text/plain' }), 415);
  await l.send('wrong accept', 1, rawPost(url, rpc(23, 'ping'), { ...h, accept: 'application/json' }), 406);
  await l.send('bad JSON', 1, rawPost(url, '{"jsonrpc":', h), 400);
  await l.send('not JSON-RPC', 1, rawPost(url, { hello: LONE }, h), 400);
  await l.send('too deep', 1, rawPost(url, `${'['.repeat(200)}${']'.repeat(200)}`, h), 400);
  await l.send('too large', 1, rawPost(url, { jsonrpc: '2.0', id: 1, method: 'ping', params: { pad: 'x'.repeat(5 * 1024 * 1024) } }, h), 413);
  await l.send('no session', 1, rawPost(url, rpc(24, 'ping'), auth), 400);
  await l.send('unknown session', 1, rawPost(url, rpc(25, 'ping'), { ...auth, 'mcp-session-id': 'nope' }), 404);
  await l.send('bad protocol header', 1, rawPost(url, rpc(26, 'ping'), { ...h, 'mcp-protocol-version': '1999-01-01' }), 400);
  await l.send('initialize with session', 1, rawPost(url, INIT('2025-11-25'), h), 400);
  await l.send('unknown virtual server', 1, rawPost(url.replace('/mcp', '/servers/nope/mcp'), rpc(27, 'ping'), h), 404);
  await l.send('PUT', 1, fetch(url, { method: 'PUT', headers: h }), 405);
  await l.send('scoped key, other tool', 1, rawPost(url, INIT('2025-11-25'), { authorization: `Bearer ${scopedKey}` }), 200);

  // A foreign session: another key presenting this session's id.
  await l.send('foreign session', 1, rawPost(url, rpc(28, 'tools/list'), sessionHeaders(scopedKey, s)), 404);

  // Batches: refused on a 2025-11-25 session; on 2025-03-26 one record per request in it, none for notifications.
  await l.send('batch refused', 1, rawPost(url, [rpc(29, 'ping')], h), 400);
  const old = await openSession(l, url, key, '2025-03-26');
  const oh = sessionHeaders(key, old, '2025-03-26');
  await l.send('batch', 3, rawPost(url, [rpc(30, 'ping'), rpc(31, 'tools/call', { name: 'fx__echo', arguments: { text: 'b' } }), { jsonrpc: '2.0', method: 'notifications/initialized' }, rpc(32, 'tools/call', { name: 'fx__nope' }), { jsonrpc: '2.0', id: 33, method: 'initialize', params: {} }], oh), 200);
  await l.send('batch of notifications', 1, rawPost(url, [{ jsonrpc: '2.0', method: 'notifications/initialized' }], oh), 202);
  await l.send('empty batch', 1, rawPost(url, [], oh), 400);

  // Streams and the end of a session.
  await l.send('GET wrong accept', 1, fetch(url, { headers: { ...h, accept: 'application/json' } }), 406);
  await l.send('GET stream', 1, fetch(url, { headers: { ...h, accept: 'text/event-stream' } }), 200);
  await l.send('DELETE', 1, fetch(url, { method: 'DELETE', headers: oh }), 200);
  await l.send('DELETE again', 1, fetch(url, { method: 'DELETE', headers: oh }), 404);

  // 2026-07-28: stateless requests and their refusals.
  const modern = (method: string, params: Record<string, unknown>, extra: Record<string, string> = {}) =>
    rawPost(
      url,
      { jsonrpc: '2.0', id: 40, method, params: { ...params, _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} } } },
      { ...auth, 'mcp-protocol-version': '2026-07-28', 'mcp-method': method, ...extra },
    );
  await l.send('2026 tools/list', 1, modern('tools/list', {}), 200);
  await l.send('2026 tools/call', 1, modern('tools/call', { name: 'fx__echo', arguments: { text: 'm' } }, { 'mcp-name': 'fx__echo' }), 200);
  await l.send('2026 header mismatch', 1, modern('tools/list', {}, { 'mcp-method': 'prompts/list' }), 400);
  await l.send('2026 unknown method', 1, modern('resources/subscribe', { uri: 'x' }), 404);
  await l.send('2026 notification', 1, rawPost(url, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 1, _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28' } } }, { ...auth, 'mcp-protocol-version': '2026-07-28' }), 202);
  return l;
}

async function allRecords(gw: Gateway): Promise<AuditRecord[]> {
  const store = gw.app.services.store;
  return [...(await store.listAudit(gw.org.id, 0, 100_000)), ...(await store.listAudit(SYSTEM_CHAIN, 0, 100_000))];
}

interface SuiteEnv {
  readonly env: Record<string, string>;
  readonly cleanup: () => Promise<void>;
  /** Checked after the run: e.g. that the gateway really is connected as the role it was given. */
  readonly check?: () => Promise<void>;
}

function propertySuite(name: string, env: () => Promise<SuiteEnv>) {
  describe(`audit: one record per request (${name})`, () => {
    let gw: Gateway;
    let scopedKey: string;
    let cleanup: () => Promise<void> = () => Promise.resolve();
    let check: (() => Promise<void>) | undefined;

    before(async () => {
      const e = await env();
      cleanup = e.cleanup;
      check = e.check;
      gw = await startGateway(e.env);
      await addAndConnect(gw, stdioFixture('fx'));
      scopedKey = (await createKey(gw.app.services, operatorActor('test'), { orgId: gw.org.id, name: 'scoped', scopes: ['fx/echo'] })).key;
    });
    after(async () => {
      await gw.close();
      await cleanup();
    });

    test('over a mixed run of every method and every refusal, audit rows equal requests, none twice, and the chain verifies', { timeout: 60_000 }, async () => {
      const before = await allRecords(gw);
      const ledger = await mixedRun(gw, scopedKey);
      const added = (await allRecords(gw)).filter((r) => !before.some((b) => b.orgId === r.orgId && b.seq === r.seq));
      const byId = new Map<string, AuditRecord[]>();
      for (const r of added) byId.set(r.correlationId ?? '', [...(byId.get(r.correlationId ?? '') ?? []), r]);
      for (const [id, count] of ledger.expected) {
        const got = byId.get(id) ?? [];
        assert.equal(got.length, count, `correlation id ${id}: ${String(got.length)} records (${got.map((r) => `${r.action}/${r.decision}/${r.reason ?? ''}`).join(', ')}), expected ${String(count)}`);
      }
      const strays = added.filter((r) => !ledger.expected.has(r.correlationId ?? ''));
      assert.deepEqual(strays.map((r) => r.action), [], 'records that no request of the run explains');
      assert.equal(added.length, ledger.total);

      const verified = await runCli(gw, ['audit', 'verify']);
      assert.equal(verified.code, 0, verified.stdout + verified.stderr);
      assert.doesNotMatch(verified.stdout, /FAIL|broken|changed/i);
      await check?.();
    });

    test('a tool name carrying a lone UTF-16 surrogate is recorded as U+FFFD, and its record still verifies', async () => {
      const session = await openSession(new Ledger(), gw.url, gw.ownerKey);
      const res = await rawPost(gw.url, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"fx__\\udc00tool"}}`, sessionHeaders(gw.ownerKey, session));
      const id = res.headers.get('x-correlation-id');
      assert.equal(((await res.json()) as { error: { code: number } }).error.code, -32602);
      const record = (await allRecords(gw)).find((r) => r.correlationId === id);
      assert.equal(record?.targetName, 'fx__\ufffdtool');
      assert.equal(record.reason, 'invalid_params:unknown');
      assert.equal((await runCli(gw, ['audit', 'verify'])).code, 0);
    });
  });
}

propertySuite('SQLite', () => Promise.resolve({ env: {}, cleanup: () => Promise.resolve() }));

propertySuite('PostgreSQL', async () => {
  const database = `gh_prop_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  return {
    env: { GATEHOUSE_DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${database}` },
    cleanup: async () => {
      await admin.query(`DROP DATABASE ${database} WITH (FORCE)`);
      await admin.end();
    },
  };
});

// The production layout (README "PostgreSQL roles"): the gateway migrates as the migrator, then serves as the
// application role, which appends audit records only through audit_append() and can change none of them.
propertySuite('PostgreSQL, migrator and application roles', async () => {
  const suffix = randomBytes(4).toString('hex');
  const database = `gh_split_${suffix}`;
  const [migrator, app, schema] = [`gh_mig_${suffix}`, `gh_app_${suffix}`, 'gatehouse'];
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  const inDb = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:5432/${database}` });
  await inDb.connect();
  for (const sql of initRolesSql({ migrator, app, schema, database })) await inDb.query(sql);
  await inDb.end();
  const url = (role: string) => `postgres://${role}@127.0.0.1:5432/${database}`;
  return {
    env: { GATEHOUSE_DATABASE_MIGRATOR_URL: url(migrator), GATEHOUSE_DATABASE_URL: url(app) },
    check: async () => {
      const { rows } = await admin.query<{ usename: string }>('SELECT DISTINCT usename FROM pg_stat_activity WHERE datname = $1', [database]);
      assert.deepEqual(rows.map((r) => r.usename), [app], 'the serving gateway holds connections as the application role only');
      const asApp = new pg.Client({ connectionString: url(app) });
      await asApp.connect();
      try {
        await assert.rejects(asApp.query('DELETE FROM audit_events'), (e: Error & { code?: string }) => e.code === '42501');
        await assert.rejects(asApp.query("UPDATE audit_events SET reason = 'edited'"), (e: Error & { code?: string }) => e.code === '42501');
      } finally {
        await asApp.end();
      }
    },
    cleanup: async () => {
      await admin.query(`DROP DATABASE ${database} WITH (FORCE)`);
      for (const role of [app, migrator]) await admin.query(`DROP ROLE IF EXISTS ${role}`);
      await admin.end();
    },
  };
});
