/**
 * Connector credentials end to end: given to the real CLI, injected at egress (the fixture reports only a digest of
 * what it received), and found nowhere else: not in CLI output, logs, the database file or any MCP response. The
 * same flow on PostgreSQL, in a database of its own.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Client as PgClient } from 'pg';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpError, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { ConnectorTransport } from '../../src/store/types.ts';
import { connect, FIXTURE, NODE, runCli, startFixtureHttpProcess, startGateway, waitFor, type Gateway, type UpstreamProcess } from './harness.ts';

const PG_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/test';

const newSecret = (label: string) => `${label}-${randomBytes(24).toString('base64url')}`;
const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

/** The forms a secret could leak in: as given, and base64 of it (a naive "encoding" is still a leak). */
function leakForms(secret: string): string[] {
  return [secret, Buffer.from(secret).toString('base64'), Buffer.from(secret).toString('base64url')];
}

function assertNoLeak(where: string, haystack: string | Buffer, secrets: readonly string[]): void {
  const text = typeof haystack === 'string' ? haystack : haystack.toString('latin1');
  for (const secret of secrets) {
    for (const form of leakForms(secret)) assert.ok(!text.includes(form), `a secret leaked into ${where}`);
  }
}

async function credentials(client: Client, connector: string): Promise<{ text: string; report: Record<string, { present: boolean; sha256?: string }> }> {
  const result = (await client.callTool({ name: `${connector}__credential_check`, arguments: {} })) as CallToolResult;
  const first = result.content[0];
  assert.ok(first?.type === 'text');
  return { text: JSON.stringify(result), report: JSON.parse(first.text) as Record<string, { present: boolean; sha256?: string }> };
}

async function cli(gw: Gateway, args: string[], extraEnv: Record<string, string> = {}): Promise<string> {
  const r = await runCli(gw, args, extraEnv);
  assert.equal(r.code, 0, `gatehouse ${args.slice(0, 2).join(' ')} failed: ${r.stderr}`);
  return r.stdout + r.stderr;
}

function waitReady(gw: Gateway, names: readonly string[]): Promise<void> {
  return waitFor(() => names.every((n) => gw.app.federation.connection(gw.org.id, n)?.state === 'ready'), 15_000, `connectors ${names.join(', ')}`);
}

describe('connector secrets on SQLite', () => {
  let gw: Gateway;
  let fx: UpstreamProcess;
  let client: Client;
  const envSecret = newSecret('env');
  const headerSecret = newSecret('hdr');
  const authSecret = newSecret('auth');
  const otherSecret = newSecret('other');
  const secrets = [envSecret, headerSecret, authSecret, otherSecret];
  const outputs: string[] = [];
  const responses: string[] = [];

  before(async () => {
    gw = await startGateway({ GATEHOUSE_LOG_LEVEL: 'debug' });
    fx = await startFixtureHttpProcess();
    const added = await Promise.all([
      cli(gw, ['connectors', 'add', 'sx', '--command', NODE, '--secret-env', `FIXTURE_TOKEN=${envSecret}`, '--', FIXTURE, '--stdio']),
      cli(gw, ['connectors', 'add', 'hx', '--url', fx.url, '--secret-header', 'X-Fixture-Token: @env:GH_E2E_FIXTURE_TOKEN'], { GH_E2E_FIXTURE_TOKEN: headerSecret }),
      cli(gw, ['connectors', 'add', 'ax', '--url', fx.url, '--header', `Authorization: Bearer ${authSecret}`]),
      cli(gw, ['connectors', 'add', 'sy', '--command', NODE, '--secret-env', `FIXTURE_TOKEN=${otherSecret}`, '--', FIXTURE, '--stdio']),
    ]);
    outputs.push(...added);
    for (const out of added) assert.match(out, /Added connector (sx|hx|ax|sy) \(con_/);
    await waitReady(gw, ['sx', 'hx', 'ax', 'sy']);
    client = await connect(gw.url, gw.ownerKey);
  });

  after(async () => {
    await client.close();
    await gw.close();
    await fx.close();
  });

  test('secrets are injected upstream and appear in no output, log line, database byte or MCP response', async () => {
    const stdio = await credentials(client, 'sx');
    assert.deepEqual(stdio.report.env_FIXTURE_TOKEN, { present: true, sha256: sha256(envSecret) });
    const header = await credentials(client, 'hx');
    assert.deepEqual(header.report.header_x_fixture_token, { present: true, sha256: sha256(headerSecret) });
    assert.deepEqual(header.report.header_authorization, { present: false });
    const auth = await credentials(client, 'ax');
    assert.deepEqual(auth.report.header_authorization, { present: true, sha256: sha256(`Bearer ${authSecret}`) });
    responses.push(stdio.text, header.text, auth.text, JSON.stringify(await client.listTools()), JSON.stringify(await client.listResources()));

    const listed = await cli(gw, ['connectors', 'list']);
    assert.match(listed, /ax\s+http .*Authorization=\*{8}/);
    assert.match(listed, /hx\s+http .*X-Fixture-Token=\*{8}/);
    assert.match(listed, /sx\s+stdio .*FIXTURE_TOKEN=\*{8}/);
    const json = await cli(gw, ['connectors', 'list', '--json']);
    const views = JSON.parse(json) as { name: string; headers?: Record<string, unknown>[]; env?: Record<string, unknown>[] }[];
    const byName = new Map(views.map((v) => [v.name, v]));
    // A plain --header named Authorization is stored as a secret anyway: listed by name, never by value.
    assert.deepEqual(byName.get('ax')?.headers, [{ name: 'Authorization', secret: true }]);
    assert.deepEqual(byName.get('hx')?.headers, [{ name: 'X-Fixture-Token', secret: true }]);
    assert.deepEqual(byName.get('sx')?.env, [{ name: 'FIXTURE_TOKEN', secret: true }]);
    const exported = await cli(gw, ['audit', 'export']);
    assert.match(exported, /"action":"connector.add"/);
    outputs.push(listed, json, exported);

    for (const [i, out] of outputs.entries()) assertNoLeak(`CLI output #${i}`, out, secrets);
    assertNoLeak('the gateway log', gw.logs.join('\n'), secrets);
    assert.ok(gw.logs.some((l) => l.includes('"level":20')), 'debug logging was not on');
    for (const [i, r] of responses.entries()) assertNoLeak(`MCP response #${i}`, r, secrets);

    const db = join(gw.dataDir, 'gatehouse.db');
    const files = [db, `${db}-wal`, `${db}-shm`].filter((f) => existsSync(f));
    const bytes = Buffer.concat(files.map((f) => readFileSync(f)));
    // The connector rows are in these bytes (so the search is meaningful), sealed.
    assert.ok(bytes.includes('X-Fixture-Token') && bytes.includes('"ciphertext":"v2.'));
    for (const f of files) assertNoLeak(f, readFileSync(f), secrets);
  });

  test('a ciphertext copied into another connector row does not decrypt, and nothing leaks', async () => {
    assert.equal((await credentials(client, 'sy')).report.env_FIXTURE_TOKEN?.sha256, sha256(otherSecret));
    const before = gw.app.federation.connection(gw.org.id, 'sy');
    const db = new DatabaseSync(join(gw.dataDir, 'gatehouse.db'));
    try {
      db.exec('PRAGMA busy_timeout = 5000');
      const read = (name: string) => JSON.parse((db.prepare('SELECT transport FROM connectors WHERE name = ?').get(name) as { transport: string }).transport) as ConnectorTransport;
      const source = read('sx');
      const target = read('sy');
      assert.ok(source.type === 'stdio' && target.type === 'stdio');
      const moved = { ...target, env: source.env };
      db.prepare('UPDATE connectors SET transport = ?, updated_at = ? WHERE name = ?').run(JSON.stringify(moved), new Date().toISOString(), 'sy');
    } finally {
      db.close();
    }
    await waitFor(() => {
      const conn = gw.app.federation.connection(gw.org.id, 'sy');
      return conn !== undefined && conn !== before && conn.state === 'down';
    }, 10_000, 'the gateway to pick up the changed row');

    const err: unknown = await client.callTool({ name: 'sy__credential_check', arguments: {} }).then(
      () => assert.fail('a moved ciphertext opened'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof McpError);
    assert.equal(err.code, -32060);
    assert.match(err.message, /The credential 'FIXTURE_TOKEN' of connector 'sy' cannot be opened; the request was not sent/);
    const failure = gw.logs.find((l) => l.includes('"connector":"sy"') && l.includes('a credential cannot be opened'));
    assert.match(failure ?? '', /authenticate/);
    // The row it was copied from still works.
    assert.equal((await credentials(client, 'sx')).report.env_FIXTURE_TOKEN?.sha256, sha256(envSecret));
    assertNoLeak('the gateway log', gw.logs.join('\n'), secrets);
    assertNoLeak('the MCP error', err.message + JSON.stringify(err.data), secrets);
  });
});

describe('connector secrets on PostgreSQL', () => {
  const database = `gh_e2e_${randomBytes(6).toString('hex')}`;
  const admin = new PgClient({ connectionString: PG_ADMIN_URL });
  let created = false;
  let gw: Gateway | undefined;
  let fx: UpstreamProcess | undefined;
  const secret = newSecret('pg');

  before(async () => {
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    created = true;
    fx = await startFixtureHttpProcess();
    gw = await startGateway({ GATEHOUSE_DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${database}` });
  });

  after(async () => {
    await gw?.close();
    await fx?.close();
    if (created) await admin.query(`DROP DATABASE ${database} WITH (FORCE)`);
    await admin.end();
  });

  test('a connector added with the CLI serves through the gateway and the audit chain verifies', async () => {
    assert.ok(gw !== undefined && fx !== undefined);
    assert.equal(gw.app.services.store.dialect, 'postgres');
    const outputs = [await cli(gw, ['connectors', 'add', 'pgx', '--url', fx.url, '--secret-header', `X-Fixture-Token: ${secret}`])];
    await waitReady(gw, ['pgx']);
    const client = await connect(gw.url, gw.ownerKey);
    let response: string;
    try {
      const { text, report } = await credentials(client, 'pgx');
      assert.deepEqual(report.header_x_fixture_token, { present: true, sha256: sha256(secret) });
      response = text;
    } finally {
      await client.close();
    }

    const verified = await cli(gw, ['audit', 'verify']);
    assert.match(verified, /^ok\s+default: \d+ records/m);
    const records = await gw.app.services.store.listAudit(gw.org.id, 0, 1000);
    assert.ok(records.some((r) => r.action === 'connector.add' && r.targetConnector === 'pgx' && r.actorUser?.startsWith('cli:') === true));
    assert.ok(records.some((r) => r.action === 'mcp.tools/call' && r.targetConnector === 'pgx' && r.targetName === 'credential_check' && r.decision === 'allow'));
    outputs.push(verified, await cli(gw, ['connectors', 'list', '--json']), await cli(gw, ['audit', 'export']));

    const { rows } = await withDatabase(database, (db) => db.query<{ transport: string }>("SELECT transport::text AS transport FROM connectors WHERE name = 'pgx'"));
    assert.match(rows[0]?.transport ?? '', /"ciphertext": "v2\./);
    assertNoLeak('the connectors table', rows[0]?.transport ?? '', [secret]);
    for (const [i, out] of outputs.entries()) assertNoLeak(`CLI output #${i}`, out, [secret]);
    assertNoLeak('the gateway log', gw.logs.join('\n'), [secret]);
    assertNoLeak('the MCP response', response, [secret]);
  });
});

async function withDatabase<T>(database: string, fn: (db: PgClient) => Promise<T>): Promise<T> {
  const db = new PgClient({ connectionString: `postgres://postgres@127.0.0.1:5432/${database}` });
  await db.connect();
  try {
    return await fn(db);
  } finally {
    await db.end();
  }
}
