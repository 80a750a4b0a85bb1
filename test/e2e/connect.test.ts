// `gatehouse connect` through the real CLI: it refuses keys that cannot connect and servers that do not exist,
// never prints key material, and the configuration it prints reaches the running gateway once the key is supplied.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { operatorActor } from '../../src/services/context.ts';
import { createKey, revokeKey } from '../../src/services/keys.ts';
import { createVirtualServer } from '../../src/services/virtual-servers.ts';
import { addAndConnect, runCli, startGateway, stdioFixture, waitFor, type Gateway } from './harness.ts';

const KEY_PATTERN = /gth_[0-9A-Za-z]{49}/;

interface Plan {
  url: string;
  key: { id: string; name: string } | null;
  clients: { client: string; files: string[]; config: Record<string, unknown> }[];
}

describe('gatehouse connect', () => {
  let gw: Gateway;
  const keys: Record<'active' | 'revoked' | 'expired', { id: string; key: string }> = {
    active: { id: '', key: '' },
    revoked: { id: '', key: '' },
    expired: { id: '', key: '' },
  };
  const clients: Client[] = [];

  before(async () => {
    gw = await startGateway();
    await addAndConnect(gw, stdioFixture('fx'));
    const actor = operatorActor('test');
    const make = async (name: string, expiresAt?: string) => {
      const { key, record } = await createKey(gw.app.services, actor, { orgId: gw.org.id, name, scopes: ['fx'], expiresAt });
      return { id: record.id, key };
    };
    const expiry = Date.now() + 300;
    keys.active = await make('laptop');
    keys.revoked = await make('old');
    keys.expired = await make('brief', new Date(expiry).toISOString());
    await revokeKey(gw.app.services, actor, gw.org.id, keys.revoked.id);
    await waitFor(() => Date.now() > expiry + 20, 2000, 'the key to expire');
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await gw.close();
    rmSync(gw.dataDir, { recursive: true, force: true });
  });

  function assertNoKeyMaterial(text: string): void {
    assert.doesNotMatch(text, KEY_PATTERN);
    for (const k of [gw.ownerKey, ...Object.values(keys).map((v) => v.key)]) assert.ok(!text.includes(k), 'a key was printed');
  }

  test('prints the three clients for an active key, with no key material', async () => {
    const human = await runCli(gw, ['connect', '--key-id', keys.active.id]);
    assert.equal(human.code, 0, human.stderr);
    for (const title of ['== Claude Desktop ==', '== Cursor ==', '== VS Code ==', 'claude_desktop_config.json', '.cursor/mcp.json', '.vscode/mcp.json']) {
      assert.ok(human.stdout.includes(title), title);
    }
    assert.match(human.stdout, new RegExp(`Key: ${keys.active.id} \\(laptop\\)`));
    assertNoKeyMaterial(human.stdout + human.stderr);

    const json = await runCli(gw, ['connect', '--key-id', keys.active.id, '--json']);
    assert.equal(json.code, 0, json.stderr);
    assertNoKeyMaterial(json.stdout + json.stderr);
    const plan = JSON.parse(json.stdout) as Plan;
    assert.equal(plan.url, gw.url);
    assert.deepEqual(plan.key?.id, keys.active.id);
    assert.deepEqual(plan.clients.map((c) => c.client), ['claude', 'cursor', 'vscode']);
  });

  test('the Cursor and VS Code configurations reach the gateway once the client supplies the key', async () => {
    const run = await runCli(gw, ['connect', '--client', 'cursor,vscode', '--json']);
    assert.equal(run.code, 0, run.stderr);
    const plan = JSON.parse(run.stdout) as Plan;
    type Entry = { url: string; headers: Record<string, string> };
    const cursor = (plan.clients[0]?.config.mcpServers as Record<string, Entry>).gatehouse;
    const vscode = (plan.clients[1]?.config.servers as Record<string, Entry>).gatehouse;
    // What each client does with its file: ${env:NAME} from the environment, ${input:id} from the password prompt.
    const supplied = [
      { entry: cursor, pattern: /\$\{env:GATEHOUSE_API_KEY\}/ },
      { entry: vscode, pattern: /\$\{input:gatehouse_api_key\}/ },
    ];
    for (const { entry, pattern } of supplied) {
      assert.ok(entry !== undefined);
      const headers = Object.fromEntries(Object.entries(entry.headers).map(([k, v]) => [k, v.replace(pattern, keys.active.key)]));
      const client = new Client({ name: 'connect-e2e', version: '1.0.0' });
      await client.connect(new StreamableHTTPClientTransport(new URL(entry.url), { requestInit: { headers } }));
      clients.push(client);
      assert.ok((await client.listTools()).tools.some((t) => t.name === 'fx__echo'));
    }
  });

  test('unknown, revoked and expired keys and unknown servers are refused with exit code 1', async () => {
    const cases: [string[], RegExp][] = [
      [['--key-id', 'key_doesnotexist'], /No key 'key_doesnotexist' in organisation 'default'/],
      [['--key-id', keys.revoked.id], new RegExp(`Key '${keys.revoked.id}' is revoked`)],
      [['--key-id', keys.expired.id], new RegExp(`Key '${keys.expired.id}' expired at `)],
      [['--server', 'nope'], /No virtual server 'nope' in organisation 'default'/],
      [['--key-id', keys.active.id, '--org', 'elsewhere'], /No organisation 'elsewhere'/],
    ];
    for (const [args, message] of cases) {
      const run = await runCli(gw, ['connect', ...args]);
      assert.equal(run.code, 1, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, message);
      assert.equal(run.stdout, '', `${args.join(' ')} printed a configuration`);
      assertNoKeyMaterial(run.stdout + run.stderr);
    }
  });

  test('a key restricted to virtual servers is configured for its server, never for /mcp or another server', async () => {
    const actor = operatorActor('test');
    for (const name of ['tools-a', 'tools-b']) {
      await createVirtualServer(gw.app.services, actor, { orgId: gw.org.id, name, tools: ['fx/echo'] });
    }
    const { record } = await createKey(gw.app.services, actor, { orgId: gw.org.id, name: 'only-a', scopes: ['*'], servers: ['tools-a'] });
    const run = await runCli(gw, ['connect', '--key-id', record.id, '--json']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal((JSON.parse(run.stdout) as Plan).url, gw.url.replace(/\/mcp$/, '/servers/tools-a/mcp'));
    for (const args of [['--server', 'tools-b'], []]) {
      const { record: two } = await createKey(gw.app.services, actor, { orgId: gw.org.id, name: 'a-and-b', scopes: ['*'], servers: ['tools-a', 'tools-b'] });
      const refused = await runCli(gw, ['connect', '--key-id', args.length === 0 ? two.id : record.id, ...args]);
      assert.equal(refused.code, 1, refused.stdout);
      assert.match(refused.stderr, /may only be used on the virtual servers/);
    }
  });

  test('bad options are usage errors (exit code 2)', async () => {
    for (const args of [['--client', 'windsurf'], ['--url', 'https://gw.example.com/mcp'], ['--url', 'not a url'], ['extra']]) {
      const run = await runCli(gw, ['connect', ...args]);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
    }
  });
});
