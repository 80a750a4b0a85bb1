// The README contract, on the real server process (`npm start` runs `node src/main.ts`): the first start prints
// the MCP URL, the owner key once and a client configuration that works; the CLI changes a running server; a
// restart keeps everything and prints no secret; production refuses to start without its master key.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ToolListChangedNotificationSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { FIXTURE, freePort, NODE, ROOT, runCli, stop, waitFor } from './harness.ts';

const KEY_PATTERN = /gth_[0-9A-Za-z]{49}/g;

interface ServerProcess {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  readonly exited: Promise<number | null>;
}

/** The environment without any GATEHOUSE_* setting of the machine running the tests. */
function cleanEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GATEHOUSE_') && v !== undefined) env[k] = v;
  return { ...env, ...extra };
}

function spawnServer(env: Record<string, string>): ServerProcess {
  const child = spawn(NODE, ['src/main.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => {
    resolve(code);
  }));
  return { child, stdout: () => out, stderr: () => err, exited };
}

async function waitListening(server: ServerProcess): Promise<void> {
  let exitCode: number | null | undefined;
  void server.exited.then((code) => (exitCode = code));
  await waitFor(
    () => {
      if (exitCode !== undefined) throw new Error(`server exited with ${exitCode ?? 'signal'}: ${server.stderr()}`);
      return server.stdout().includes('gatehouse listening');
    },
    15_000,
    'the server to listen',
  );
}

/** The `mcpServers` JSON block of the first-start banner (printed indented by four spaces). */
function clientConfigBlock(stdout: string): unknown {
  const lines = stdout.split('\n');
  const start = lines.indexOf('    {');
  const end = lines.indexOf('    }', start);
  assert.ok(start !== -1 && end > start, `no client configuration in:\n${stdout}`);
  return JSON.parse(lines.slice(start, end + 1).map((l) => l.slice(4)).join('\n')) as unknown;
}

function firstText(result: unknown): string {
  const block = (result as CallToolResult).content[0];
  assert.ok(block?.type === 'text');
  return block.text;
}

async function connectAs(url: string, headers: Record<string, string>): Promise<Client> {
  const client = new Client({ name: 'first-start-e2e', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
  return client;
}

describe('first start (README contract)', () => {
  const dirs: string[] = [];
  const servers: ServerProcess[] = [];
  const clients: Client[] = [];

  function tempDir(): string {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-first-start-'));
    dirs.push(dir);
    return dir;
  }

  after(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await Promise.all(servers.map((s) => stop(s.child)));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test('prints the URL, the key once and a working client config; the CLI changes the running server; a restart keeps it all', async () => {
    const dataDir = join(tempDir(), 'data');
    const port = await freePort();
    const env = cleanEnv({ GATEHOUSE_DATA_DIR: dataDir, GATEHOUSE_PORT: String(port), GATEHOUSE_HOST: '127.0.0.1' });
    const expectedUrl = `http://127.0.0.1:${port}/mcp`;

    const first = spawnServer(env);
    servers.push(first);
    await waitListening(first);
    await waitFor(() => first.stdout().includes('Add an upstream MCP server'), 5000, 'the first-start banner');
    const stdout = first.stdout();
    assert.match(stdout, new RegExp(`MCP endpoint:\\s+${expectedUrl.replace(/[.]/g, '\\.')}\\n`));
    const keys = new Set(stdout.match(KEY_PATTERN));
    assert.equal(keys.size, 1, `expected exactly one key, saw ${keys.size}`);
    const key = [...keys][0] ?? '';
    assert.match(stdout, new RegExp(`Owner API key: ${key}\\n`));
    assert.deepEqual(clientConfigBlock(stdout), {
      mcpServers: { gatehouse: { type: 'http', url: expectedUrl, headers: { Authorization: `Bearer ${key}` } } },
    });
    assert.equal(statSync(join(dataDir, 'master.key')).mode & 0o777, 0o600);
    for (const f of ['gatehouse.db', 'gatehouse.db-wal', 'gatehouse.db-shm']) {
      if (existsSync(join(dataDir, f))) assert.equal(statSync(join(dataDir, f)).mode & 0o777, 0o600, f);
    }
    assert.equal(statSync(dataDir).mode & 0o777, 0o700);

    // The printed configuration is what a client uses.
    const config = clientConfigBlock(stdout) as { mcpServers: { gatehouse: { url: string; headers: Record<string, string> } } };
    const client = await connectAs(config.mcpServers.gatehouse.url, config.mcpServers.gatehouse.headers);
    clients.push(client);
    let listChanged = 0;
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      listChanged++;
    });
    assert.deepEqual((await client.listTools()).tools, []);

    // The CLI, a separate process on the same data directory, adds a connector while the server runs.
    const cli = await runCli({ env }, ['connectors', 'add', 'fx', '--command', NODE, '--', FIXTURE, '--stdio']);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /Added connector fx/);
    assert.doesNotMatch(cli.stdout, KEY_PATTERN, 'the CLI must not create another owner key');
    await waitFor(async () => (await client.listTools()).tools.some((t) => t.name === 'fx__echo'), 10_000, 'fx__echo to appear');
    assert.equal(firstText(await client.callTool({ name: 'fx__echo', arguments: { text: 'via the cli' } })), 'via the cli');
    await waitFor(() => listChanged > 0, 5000, 'a tools/list_changed notification');

    await client.close();
    first.child.kill('SIGTERM');
    assert.equal(await first.exited, 0, `shutdown failed: ${first.stderr()}`);

    const second = spawnServer(env);
    servers.push(second);
    await waitListening(second);
    const again = await connectAs(expectedUrl, { Authorization: `Bearer ${key}` });
    clients.push(again);
    await waitFor(async () => (await again.listTools()).tools.some((t) => t.name === 'fx__echo'), 10_000, 'fx__echo after restart');
    assert.equal(firstText(await again.callTool({ name: 'fx__echo', arguments: { text: 'after restart' } })), 'after restart');
    assert.doesNotMatch(second.stdout(), /gth_/, 'a restart must print no key');
    assert.doesNotMatch(second.stdout(), /first start/i);
    assert.equal(statSync(join(dataDir, 'master.key')).mode & 0o777, 0o600);
  });

  test('production without GATEHOUSE_MASTER_KEY refuses to start', async () => {
    const dataDir = join(tempDir(), 'data');
    const port = await freePort();
    const server = spawnServer(cleanEnv({ GATEHOUSE_ENV: 'production', GATEHOUSE_DATA_DIR: dataDir, GATEHOUSE_PORT: String(port), GATEHOUSE_HOST: '127.0.0.1' }));
    servers.push(server);
    const timer = setTimeout(() => server.child.kill('SIGKILL'), 15_000);
    const code = await server.exited;
    clearTimeout(timer);
    assert.equal(code, 1, `stdout: ${server.stdout()}\nstderr: ${server.stderr()}`);
    assert.match(server.stderr(), /refusing to start: GATEHOUSE_MASTER_KEY is not set/);
    assert.doesNotMatch(server.stdout() + server.stderr(), /gth_/);
    assert.equal(existsSync(join(dataDir, 'master.key')), false, 'nothing may be created before the refusal');
    const probe = await fetch(`http://127.0.0.1:${port}/healthz`).then(
      (r) => r.status,
      () => 'refused',
    );
    assert.equal(probe, 'refused');
  });
});
