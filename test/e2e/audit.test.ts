/**
 * The audit log end to end: what every record carries, the CLI's own records, verification that names the first
 * record an attacker with file access broke, export, and a request failing when its record cannot be written.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpError, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { createKey } from '../../src/services/keys.ts';
import { operatorActor } from '../../src/services/context.ts';
import type { AuditRecord } from '../../src/store/types.ts';
import { addAndConnect, connect, httpConnector, rawPost, runCli, startFixtureHttpProcess, startGateway, type Gateway, type UpstreamProcess } from './harness.ts';

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const LOOPBACK = new Set(['127.0.0.1', '::ffff:127.0.0.1']);
const PIPELINE_ACTIONS = new Set(['mcp.initialize', 'mcp.tools/list', 'mcp.tools/call', 'mcp.resources/read', 'mcp.prompts/get']);

async function rejection(p: Promise<unknown>): Promise<McpError> {
  const e: unknown = await p.then(
    () => {
      assert.fail('expected the call to fail');
    },
    (err: unknown) => err,
  );
  assert.ok(e instanceof McpError, `expected an McpError, got ${String(e)}`);
  return e;
}

/** Opens a session with raw HTTP, so a test can read response headers the SDK client does not expose. */
async function rawSession(url: string, key: string): Promise<Record<string, string>> {
  const auth = { authorization: `Bearer ${key}` };
  const init = await rawPost(url, {
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
  }, auth);
  assert.equal(init.status, 200);
  const sessionId = init.headers.get('mcp-session-id') ?? '';
  await init.body?.cancel();
  const headers = { ...auth, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' };
  const ack = await rawPost(url, { jsonrpc: '2.0', method: 'notifications/initialized' }, headers);
  assert.equal(ack.status, 202);
  return headers;
}

describe('audit', () => {
  let gw: Gateway;
  let fx: UpstreamProcess;
  let client: Client;
  const scratch = mkdtempSync(join(tmpdir(), 'gatehouse-audit-e2e-'));
  const all = () => gw.app.services.store.listAudit(gw.org.id, 0, 100_000);

  before(async () => {
    gw = await startGateway();
    fx = await startFixtureHttpProcess();
    await addAndConnect(gw, httpConnector('fx', fx.url));
    client = await connect(gw.url, gw.ownerKey);
  });

  after(async () => {
    await client.close();
    await gw.close();
    await fx.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  test('every MCP record carries who, from where, what, the decision, latency and its correlation id', async () => {
    const echoed = (await client.callTool({ name: 'fx__echo', arguments: { text: 'x', password: 'hunter2', api_key: 'abc' } })) as CallToolResult;
    assert.deepEqual(echoed.content, [{ type: 'text', text: 'x' }]);
    assert.equal((await rejection(client.callTool({ name: 'fx__nope', arguments: { token: 'tok-secret-1' } }))).code, -32602);
    const scoped = await createKey(gw.app.services, operatorActor('test'), { orgId: gw.org.id, name: 'scoped', scopes: ['fx/echo'] });
    const scopedClient = await connect(gw.url, scoped.key, 'scoped-client');
    try {
      assert.equal((await rejection(scopedClient.callTool({ name: 'fx__add', arguments: { a: 1, b: 2, secret: 'zzz-secret' } }))).code, -32602);
    } finally {
      await scopedClient.close();
    }

    const headers = await rawSession(gw.url, gw.ownerKey);
    const res = await rawPost(gw.url, { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'fx__echo', arguments: { text: 'raw' } } }, headers);
    assert.equal(res.status, 200);
    const correlationId = res.headers.get('x-correlation-id') ?? '';
    assert.ok(correlationId.length >= 8);
    assert.deepEqual(((await res.json()) as { result: CallToolResult }).result.content, [{ type: 'text', text: 'raw' }]);

    const records = await all();
    const mcp = records.filter((r) => PIPELINE_ACTIONS.has(r.action));
    assert.ok(mcp.length >= 6);
    const keyIds = new Set((await gw.app.services.store.listApiKeys(gw.org.id)).map((k) => k.id));
    for (const r of records) {
      assert.match(r.ts, ISO_UTC);
      assert.equal(r.orgId, gw.org.id);
      assert.ok(['allow', 'deny', 'error'].includes(r.decision));
    }
    for (const r of mcp) {
      assert.ok(r.actorKeyId !== null && keyIds.has(r.actorKeyId), `record ${r.seq} has no key`);
      assert.ok(r.clientIp !== null && LOOPBACK.has(r.clientIp), `record ${r.seq} client ip ${String(r.clientIp)}`);
      assert.ok(typeof r.latencyMs === 'number' && r.latencyMs >= 0, `record ${r.seq} has no latency`);
      assert.ok(r.correlationId !== null && r.correlationId.length > 0);
      if (r.decision === 'deny') assert.ok(r.reason !== null && r.reason.length > 0, `denial ${r.seq} has no reason`);
    }

    const allowed = mcp.find((r) => r.action === 'mcp.tools/call' && r.targetName === 'echo' && r.args?.includes('"x"') === true);
    assert.ok(allowed);
    assert.equal(allowed.targetConnector, 'fx');
    assert.equal(allowed.decision, 'allow');
    assert.equal(allowed.reason, null);
    assert.equal(allowed.actorKeyId, records.find((r) => r.action === 'key.create' && r.actorUser === 'system:bootstrap')?.targetName);
    assert.deepEqual(JSON.parse(allowed.args ?? ''), { text: 'x', password: '[REDACTED]', api_key: '[REDACTED]' });

    const unknown = mcp.find((r) => r.targetName === 'fx__nope');
    assert.ok(unknown);
    assert.deepEqual([unknown.decision, unknown.reason, unknown.action], ['deny', 'invalid_params:unknown', 'mcp.tools/call']);
    assert.deepEqual(JSON.parse(unknown.args ?? ''), { token: '[REDACTED]' });
    const outOfScope = mcp.find((r) => r.targetName === 'fx__add');
    assert.ok(outOfScope);
    assert.deepEqual([outOfScope.decision, outOfScope.reason, outOfScope.actorKeyId], ['deny', 'invalid_params:scope', scoped.record.id]);
    assert.deepEqual(JSON.parse(outOfScope.args ?? ''), { a: 1, b: 2, secret: '[REDACTED]' });
    const text = JSON.stringify(records);
    for (const s of ['hunter2', 'tok-secret-1', 'zzz-secret']) assert.ok(!text.includes(s), `${s} reached the audit log`);

    const raw = mcp.filter((r) => r.correlationId === correlationId);
    assert.equal(raw.length, 1);
    assert.deepEqual([raw[0]?.action, raw[0]?.targetName, raw[0]?.decision], ['mcp.tools/call', 'echo', 'allow']);
    const logged = gw.logs.map((l) => JSON.parse(l) as { correlationId?: string; msg?: string }).filter((l) => l.correlationId === correlationId);
    assert.ok(logged.some((l) => l.msg === 'request'), 'the correlation id is not in the request log line');
  });

  test('key and connector changes made with the CLI are audited with the CLI user', async () => {
    const created = await runCli(gw, ['keys', 'create', '--name', 'cli-key', '--scope', 'fx', '--json']);
    assert.equal(created.code, 0, created.stderr);
    const keyId = (JSON.parse(created.stdout) as { id: string }).id;
    assert.equal((await runCli(gw, ['keys', 'revoke', keyId])).code, 0);
    assert.equal((await runCli(gw, ['connectors', 'add', 'tmp', '--url', 'http://127.0.0.1:9/mcp'])).code, 0);
    assert.equal((await runCli(gw, ['connectors', 'remove', 'tmp'])).code, 0);

    const records = await all();
    const expect = (action: string, match: (r: AuditRecord) => boolean) => {
      const found = records.filter((r) => r.action === action && match(r));
      assert.equal(found.length, 1, `expected one ${action} record`);
      const r = found[0];
      assert.ok(r?.actorUser?.startsWith('cli:') === true, `${action} actor is ${String(r?.actorUser)}`);
      assert.equal(r.decision, 'allow');
      return r;
    };
    const create = expect('key.create', (r) => r.targetName === keyId);
    assert.deepEqual((JSON.parse(create.args ?? '') as { scopes: string[] }).scopes, ['fx']);
    expect('key.revoke', (r) => r.targetName === keyId);
    expect('connector.add', (r) => r.targetConnector === 'tmp');
    expect('connector.remove', (r) => r.targetConnector === 'tmp');
  });

  test('the store refuses to change or delete audit rows while its triggers stand', () => {
    const db = new DatabaseSync(join(gw.dataDir, 'gatehouse.db'));
    try {
      db.exec('PRAGMA busy_timeout = 5000');
      const count = () => (db.prepare('SELECT COUNT(*) AS n FROM audit_events').get() as { n: number }).n;
      const rows = count();
      assert.ok(rows > 2);
      assert.throws(() => db.prepare("UPDATE audit_events SET decision = 'allow' WHERE seq = 2").run(), /append-only/);
      assert.throws(() => db.prepare('DELETE FROM audit_events WHERE seq = 2').run(), /append-only/);
      assert.throws(() => {
        db.exec('DELETE FROM audit_events');
      }, /append-only/);
      assert.equal(count(), rows);
    } finally {
      db.close();
    }
  });

  test('audit verify passes a clean chain and names the first record of each kind of tampering', async () => {
    const clean = await runCli(gw, ['audit', 'verify']);
    assert.equal(clean.code, 0, clean.stderr);
    assert.match(clean.stdout, /^ok\s+default: \d+ records/m);

    const records = await all();
    const denied = records.find((r) => r.decision === 'deny');
    assert.ok(denied);
    const n = denied.seq;
    const last = records.at(-1)?.seq ?? 0;
    assert.ok(n > 1 && n + 1 < last);
    const live = new DatabaseSync(join(gw.dataDir, 'gatehouse.db'));
    // Each tampering starts from its own consistent copy of the database, so each starts from a valid chain.
    const tamper = (label: string, sql: string, params: (string | number)[] = []) => {
      const dir = join(scratch, label);
      mkdirSync(dir, { mode: 0o700 });
      live.exec(`VACUUM INTO '${join(dir, 'gatehouse.db')}'`);
      const db = new DatabaseSync(join(dir, 'gatehouse.db'));
      db.exec('DROP TRIGGER audit_events_no_update; DROP TRIGGER audit_events_no_delete;');
      for (const stmt of sql.split(';').filter((s) => s.trim() !== '')) db.prepare(stmt).run(...params);
      db.close();
      return runCli({ env: { ...gw.env, GATEHOUSE_DATA_DIR: dir } }, ['audit', 'verify']);
    };
    const org = gw.org.id;
    const forged = [org, last + 1, new Date().toISOString(), 'allow', 'f'.repeat(64), 'e'.repeat(64)];
    let results;
    try {
      results = await Promise.all([
        tamper('changed', "UPDATE audit_events SET decision = 'allow', args = NULL WHERE org_id = ? AND seq = ?", [org, n]),
        tamper('removed', 'DELETE FROM audit_events WHERE org_id = ? AND seq = ?', [org, n]),
        tamper('reordered', `UPDATE audit_events SET seq = -1 WHERE org_id = '${org}' AND seq = ${n};
          UPDATE audit_events SET seq = ${n} WHERE org_id = '${org}' AND seq = ${n + 1};
          UPDATE audit_events SET seq = ${n + 1} WHERE org_id = '${org}' AND seq = -1`),
        tamper('inserted', `INSERT INTO audit_events (org_id, seq, ts, action, decision, prev_hash, hash) VALUES (?, ?, ?, 'mcp.tools/call', ?, ?, ?)`, forged),
      ]);
    } finally {
      live.close();
    }
    const [changed, removed, reordered, inserted] = results;
    const expectations: [Awaited<ReturnType<typeof runCli>>, number, RegExp][] = [
      [changed, n, /was changed/],
      [removed, n, /missing \(removed\)/],
      [reordered, n, /does not link/],
      [inserted, last + 1, /does not link/],
    ];
    for (const [result, seq, reason] of expectations) {
      assert.equal(result.code, 1, result.stdout);
      assert.match(result.stderr, /^BROKEN\s+default: /m);
      assert.match(result.stderr, reason);
      assert.match(result.stderr, new RegExp(`\\(first broken record: ${seq}\\)`));
    }
    // The original is untouched by all of this.
    assert.equal((await runCli(gw, ['audit', 'verify'])).code, 0);
  });

  test('audit export writes every record as one JSON line in seq order, and --out a 0600 file', async () => {
    const exported = await runCli(gw, ['audit', 'export']);
    assert.equal(exported.code, 0, exported.stderr);
    const lines = exported.stdout.split('\n').filter((l) => l !== '');
    // Signed checkpoints travel among the records; the export is itself audited, after the records it wrote.
    const parsed = lines.filter((l) => !l.startsWith('{"type":')).map((l) => JSON.parse(l) as AuditRecord);
    const stored = await all();
    assert.equal(stored.at(-1)?.action, 'audit.export');
    assert.equal(parsed.length, stored.length - 1);
    assert.deepEqual(parsed.map((r) => r.seq), stored.slice(0, -1).map((_, i) => i + 1));
    assert.deepEqual(parsed, stored.slice(0, -1));

    const file = join(scratch, 'export.jsonl');
    const written = await runCli(gw, ['audit', 'export', '--out', file]);
    assert.equal(written.code, 0, written.stderr);
    assert.match(written.stderr, new RegExp(`Exported ${stored.length} records`));
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const fileRecords = readFileSync(file, 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith('{"type":')).map((l) => JSON.parse(l) as AuditRecord);
    assert.deepEqual(fileRecords, stored);
  });

  test('a request whose audit record cannot be written fails, and the gateway keeps serving', async () => {
    const store = gw.app.services.store;
    const before = (await all()).length;
    Object.defineProperty(store, 'appendAudit', { value: () => Promise.reject(new Error('disk I/O error')), configurable: true });
    try {
      const err = await rejection(client.callTool({ name: 'fx__echo', arguments: { text: 'unaudited' } }));
      assert.equal(err.code, -32013);
      assert.match(err.message, /audit log is unavailable/);
      assert.ok(!err.message.includes('disk I/O'));
    } finally {
      Reflect.deleteProperty(store, 'appendAudit');
    }
    assert.ok(gw.logs.some((l) => l.includes('audit write failed')));
    assert.equal((await all()).length, before);
    const ok = (await client.callTool({ name: 'fx__echo', arguments: { text: 'audited again' } })) as CallToolResult;
    assert.deepEqual(ok.content, [{ type: 'text', text: 'audited again' }]);
    assert.equal((await all()).at(-1)?.targetName, 'echo');
    assert.equal((await runCli(gw, ['audit', 'verify'])).code, 0);
  });
});
