import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AUTH_HEADER_ENV, clientConfig, endpointOf, entryNameOf, KEY_ENV, mcpUrlOf, VSCODE_INPUT_ID } from './client-config.ts';
import { parseBase, parseClients, planConnect, type ConnectPlan } from './connect.ts';
import { UsageError } from './output.ts';

const BASE = 'https://gw.example.com/';

function configOf(plan: ConnectPlan, client: string): Record<string, unknown> {
  const snippet = plan.clients.find((c) => c.client === client);
  assert.ok(snippet !== undefined, `no ${client} section`);
  return snippet.config;
}

test('Claude Desktop launches the mcp-remote bridge with the Authorization value from its env block', () => {
  const plan = planConnect({ base: BASE, key: null, clients: ['claude'] });
  assert.deepEqual(configOf(plan, 'claude'), {
    mcpServers: {
      gatehouse: {
        command: 'npx',
        args: ['-y', 'mcp-remote', 'https://gw.example.com/mcp', '--transport', 'http-only', '--header', `Authorization:\${${AUTH_HEADER_ENV}}`],
        env: { [AUTH_HEADER_ENV]: 'Bearer <your Gatehouse API key>' },
      },
    },
  });
  const args = (configOf(plan, 'claude').mcpServers as { gatehouse: { args: string[] } }).gatehouse.args;
  // Claude Desktop on Windows does not quote arguments, so none may contain a space.
  for (const a of args) assert.doesNotMatch(a, /\s/, a);
  assert.match(plan.clients[0]?.files.join(' ') ?? '', /Application Support\/Claude\/claude_desktop_config\.json/);
  assert.match(plan.clients[0]?.files.join(' ') ?? '', /%APPDATA%\\Claude\\claude_desktop_config\.json/);
});

test('Cursor reads the key from the environment through ${env:…} interpolation', () => {
  const plan = planConnect({ base: BASE, key: null, clients: ['cursor'] });
  assert.deepEqual(configOf(plan, 'cursor'), {
    mcpServers: { gatehouse: { url: 'https://gw.example.com/mcp', headers: { Authorization: `Bearer \${env:${KEY_ENV}}` } } },
  });
  assert.match(plan.clients[0]?.files.join(' ') ?? '', /~\/\.cursor\/mcp\.json/);
});

test('VS Code prompts for the key with a password input and references it from the header', () => {
  const plan = planConnect({ base: BASE, key: null, clients: ['vscode'] });
  assert.deepEqual(configOf(plan, 'vscode'), {
    inputs: [{ type: 'promptString', id: VSCODE_INPUT_ID, description: 'Gatehouse API key', password: true }],
    servers: { gatehouse: { type: 'http', url: 'https://gw.example.com/mcp', headers: { Authorization: `Bearer \${input:${VSCODE_INPUT_ID}}` } } },
  });
  assert.match(VSCODE_INPUT_ID, /^[A-Za-z0-9_]+$/);
  assert.match(plan.clients[0]?.files.join(' ') ?? '', /\.vscode\/mcp\.json/);
});

test('a virtual server gets its own endpoint and a camelCase entry name in every client', () => {
  const plan = planConnect({ base: 'https://gw.example.com/base/', server: 'eng-tools', key: null, clients: parseClients('all') });
  assert.equal(plan.url, 'https://gw.example.com/base/servers/eng-tools/mcp');
  assert.equal(plan.server, 'eng-tools');
  assert.deepEqual(plan.clients.map((c) => c.client), ['claude', 'cursor', 'vscode']);
  assert.ok('gatehouseEngTools' in (configOf(plan, 'claude').mcpServers as object));
  assert.ok('gatehouseEngTools' in (configOf(plan, 'cursor').mcpServers as object));
  assert.ok('gatehouseEngTools' in (configOf(plan, 'vscode').servers as object));
  assert.equal(endpointOf(BASE, 'a b/c'), 'https://gw.example.com/servers/a%20b%2Fc/mcp');
  assert.equal(entryNameOf('x_y.z'), 'gatehouseXYZ');
});

test('no configuration carries a key, whatever key it is printed for', () => {
  const key = { id: 'key_abc', name: 'ci', role: 'member' as const, scopes: ['fx'], expiresAt: null, servers: null };
  const text = JSON.stringify(planConnect({ base: BASE, key, clients: parseClients('all') }));
  assert.doesNotMatch(text, /gth_/);
});

test('plain HTTP to another host is warned about and mcp-remote is told to allow it; loopback is not', () => {
  const remote = planConnect({ base: 'http://10.0.0.5:8080/', key: null, clients: ['claude'] });
  assert.equal(remote.warnings.length, 1);
  assert.ok((configOf(remote, 'claude').mcpServers as { gatehouse: { args: string[] } }).gatehouse.args.includes('--allow-http'));
  for (const base of ['http://127.0.0.1:8080/', 'http://localhost:8080/', BASE]) {
    const plan = planConnect({ base, key: null, clients: ['claude'] });
    assert.deepEqual(plan.warnings, [], base);
    assert.ok(!(configOf(plan, 'claude').mcpServers as { gatehouse: { args: string[] } }).gatehouse.args.includes('--allow-http'), base);
  }
});

test('--client takes one client, a comma list or all; anything else is a usage error', () => {
  assert.deepEqual(parseClients('all'), ['claude', 'cursor', 'vscode']);
  assert.deepEqual(parseClients('vscode,cursor,vscode'), ['vscode', 'cursor']);
  assert.throws(() => parseClients('windsurf'), UsageError);
  assert.throws(() => parseClients(''), UsageError);
});

test('--url is a base URL: http(s), no credentials, query, fragment or /mcp suffix', () => {
  assert.equal(parseBase('https://gw.example.com'), 'https://gw.example.com/');
  assert.equal(parseBase('https://gw.example.com/base'), 'https://gw.example.com/base/');
  for (const bad of ['gw.example.com', 'ftp://gw.example.com', 'https://u:p@gw.example.com', 'https://gw.example.com/?a=1', 'https://gw.example.com/#x', 'https://gw.example.com/mcp', 'https://gw.example.com/mcp/']) {
    assert.throws(() => parseBase(bad), UsageError, bad);
  }
});

test('mcpUrlOf keeps its old answers', () => {
  assert.equal(mcpUrlOf({ host: '127.0.0.1', port: 8080 }), 'http://127.0.0.1:8080/mcp');
  assert.equal(mcpUrlOf({ host: '127.0.0.1', port: 1, publicUrl: 'https://gw.example.com/base/' }), 'https://gw.example.com/base/mcp');
});

test('the block printed once at key creation still carries that key', () => {
  assert.deepEqual(JSON.parse(clientConfig('http://127.0.0.1:8080/mcp', 'gth_x')), {
    mcpServers: { gatehouse: { type: 'http', url: 'http://127.0.0.1:8080/mcp', headers: { Authorization: 'Bearer gth_x' } } },
  });
});
