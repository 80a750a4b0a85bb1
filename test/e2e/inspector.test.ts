// The official MCP Inspector CLI, a client nobody here wrote, driven against a real gateway that fronts the
// project's fixture and server-everything. Every run is a child process with a bounded time, a throwaway HOME and
// catalog, and no interactive OAuth; assertions are made on its JSON output.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SYSTEM_CHAIN } from '../../src/gateway/audit/audit-log.ts';
import { operatorActor } from '../../src/services/context.ts';
import { createKey } from '../../src/services/keys.ts';
import { addAndConnect, NODE, ROOT, startGateway, stdioEverything, stdioFixture, type Gateway } from './harness.ts';

const INSPECTOR = join(ROOT, 'node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js');
const RUN_TIMEOUT_MS = 20_000;

interface InspectorRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** `--format json` prints `{ result }` on stdout, or `{ error: { code, message } }` on stderr. */
  readonly result: Record<string, unknown> | undefined;
  readonly error: { code: string; message: string } | undefined;
}

interface Named {
  name: string;
}

describe('MCP Inspector CLI against the gateway', () => {
  let gw: Gateway;
  let home: string;
  let scopedKey: string;

  before(async () => {
    gw = await startGateway();
    await addAndConnect(gw, stdioFixture('fx'));
    await addAndConnect(gw, stdioEverything('ev'));
    scopedKey = (await createKey(gw.app.services, operatorActor('test'), { orgId: gw.org.id, name: 'fx-only', scopes: ['fx'] })).key;
    home = mkdtempSync(join(tmpdir(), 'gatehouse-inspector-'));
  });
  after(async () => {
    await gw.close();
    for (const dir of [home, gw.dataDir]) rmSync(dir, { recursive: true, force: true });
  });

  /** One Inspector CLI run against the gateway; `key` null sends no Authorization header. */
  function inspect(key: string | null, args: string[]): Promise<InspectorRun> {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('MCP_')) env[k] = v;
    // Everything the Inspector might write (catalog, client config, secrets) goes under the throwaway HOME.
    Object.assign(env, {
      HOME: home,
      USERPROFILE: home,
      XDG_CONFIG_HOME: join(home, '.config'),
      XDG_DATA_HOME: join(home, '.local/share'),
      XDG_CACHE_HOME: join(home, '.cache'),
      MCP_CATALOG_PATH: join(home, 'catalog.json'),
      MCP_CLIENT_CONFIG_PATH: join(home, 'client.json'),
    });
    const header = key === null ? [] : ['--header', `Authorization: Bearer ${key}`];
    const argv = [INSPECTOR, '--cli', gw.url, '--transport', 'http', '--format', 'json', '--stored-auth-only', ...header, ...args];
    return new Promise((resolve, reject) => {
      const child = spawn(NODE, argv, { cwd: home, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        const parsed = (text: string): Record<string, unknown> | undefined => {
          try {
            return JSON.parse(text) as Record<string, unknown>;
          } catch {
            return undefined;
          }
        };
        const out = parsed(stdout.trim());
        const err = parsed(stderr.trim());
        resolve({ code, stdout, stderr, result: out?.result as Record<string, unknown> | undefined, error: err?.error as InspectorRun['error'] });
      });
    });
  }

  async function ok(key: string | null, args: string[]): Promise<Record<string, unknown>> {
    const run = await inspect(key, args);
    assert.equal(run.code, 0, `inspector ${args.join(' ')} failed: ${run.stderr}`);
    assert.ok(run.result !== undefined, `no JSON result: ${run.stdout}`);
    return run.result;
  }

  function namesOf(result: Record<string, unknown>, key: string): string[] {
    return (result[key] as Named[]).map((t) => t.name);
  }

  test('initialize and tools/list: the catalog of both connectors, namespaced', async () => {
    const init = await ok(gw.ownerKey, ['--method', 'initialize']);
    assert.deepEqual(init.serverInfo, { name: 'gatehouse', version: '0.1.0' });
    assert.equal(typeof init.protocolVersion, 'string');
    assert.ok((init.capabilities as Record<string, unknown>).tools !== undefined);

    const names = namesOf(await ok(gw.ownerKey, ['--method', 'tools/list']), 'tools');
    for (const n of names) assert.match(n, /^(fx|ev)__[A-Za-z0-9_.-]+$/);
    for (const n of ['fx__echo', 'fx__add', 'ev__echo', 'ev__get-sum']) assert.ok(names.includes(n), `missing ${n}`);
    assert.equal(new Set(names).size, names.length, 'duplicate tool names');
  });

  test('tools/call with arguments, through both connectors', async () => {
    const sum = await ok(gw.ownerKey, ['--method', 'tools/call', '--tool-name', 'fx__add', '--tool-arg', 'a=2', 'b=3']);
    assert.deepEqual(sum.structuredContent, { sum: 5 });
    assert.deepEqual(sum.content, [{ type: 'text', text: '5' }]);

    const echo = await ok(gw.ownerKey, ['--method', 'tools/call', '--tool-name', 'ev__echo', '--tool-args-json', '{"message":"from the inspector"}']);
    assert.deepEqual(echo.content, [{ type: 'text', text: 'Echo: from the inspector' }]);

    const audit = await gw.app.services.store.listAudit(gw.org.id, 0, 10_000);
    const record = audit.findLast((r) => r.action === 'mcp.tools/call' && r.targetConnector === 'fx' && r.targetName === 'add');
    assert.equal(record?.decision, 'allow');
  });

  test('resources/list, resources/templates/list and resources/read', async () => {
    const uris = (await ok(gw.ownerKey, ['--method', 'resources/list'])).resources as { uri: string }[];
    assert.ok(uris.some((r) => r.uri === 'fx+fixture://static/hello'));
    assert.ok(uris.some((r) => r.uri.startsWith('ev+demo://')));

    const templates = (await ok(gw.ownerKey, ['--method', 'resources/templates/list'])).resourceTemplates as { uriTemplate: string }[];
    assert.ok(templates.some((t) => t.uriTemplate === 'fx+fixture://items/{id}'));

    const hello = await ok(gw.ownerKey, ['--method', 'resources/read', '--uri', 'fx+fixture://static/hello']);
    assert.deepEqual(hello.contents, [{ uri: 'fx+fixture://static/hello', mimeType: 'text/plain', text: 'hello from fixture' }]);
    const item = await ok(gw.ownerKey, ['--method', 'resources/read', '--uri', 'fx+fixture://items/7']);
    assert.deepEqual(item.contents, [{ uri: 'fx+fixture://items/7', mimeType: 'text/plain', text: 'item 7' }]);
  });

  test('prompts/list and prompts/get with arguments', async () => {
    const prompts = (await ok(gw.ownerKey, ['--method', 'prompts/list'])).prompts as { name: string; arguments?: Named[] }[];
    const greet = prompts.find((p) => p.name === 'fx__greet');
    assert.deepEqual(greet?.arguments?.map((a) => a.name), ['name']);
    assert.ok(prompts.some((p) => p.name === 'ev__args-prompt'));

    const got = await ok(gw.ownerKey, ['--method', 'prompts/get', '--prompt-name', 'fx__greet', '--prompt-args', 'name=Ada']);
    assert.deepEqual(got.messages, [{ role: 'user', content: { type: 'text', text: 'Hello, Ada!' } }]);
    const weather = await ok(gw.ownerKey, ['--method', 'prompts/get', '--prompt-name', 'ev__args-prompt', '--prompt-args', 'city=Paris', 'state=TX']);
    assert.match(JSON.stringify(weather.messages), /Paris, TX/);
  });

  test('logging/setLevel', async (t) => {
    const init = await ok(gw.ownerKey, ['--method', 'initialize']);
    const run = await inspect(gw.ownerKey, ['--method', 'logging/setLevel', '--log-level', 'debug']);
    if ((init.capabilities as Record<string, unknown>).logging !== undefined) {
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(run.result, {});
      return;
    }
    // Today the gateway does not advertise logging (and answers logging/setLevel with -32601), so the Inspector
    // refuses before sending it. Reported as a TODO rather than passed silently; the branch above takes over once
    // the capability is advertised.
    assert.notEqual(run.code, 0);
    assert.equal(run.error?.message, 'Server does not support logging');
    t.todo('gateway does not advertise the logging capability; Inspector: "Server does not support logging"');
  });

  test('no Authorization header: the Inspector fails and the gateway audits auth.failed', async () => {
    const before = (await gw.app.services.store.listAudit(SYSTEM_CHAIN, 0, 100_000)).length;
    const run = await inspect(null, ['--method', 'tools/list']);
    assert.notEqual(run.code, 0);
    assert.equal(run.error?.code, 'auth_required', run.stderr);
    assert.equal(run.result, undefined);
    const fresh = (await gw.app.services.store.listAudit(SYSTEM_CHAIN, 0, 100_000)).slice(before);
    const failed = fresh.filter((r) => r.action === 'auth.failed');
    assert.ok(failed.length > 0, `no auth.failed record among: ${fresh.map((r) => r.action).join(', ')}`);
    for (const r of failed) {
      assert.equal(r.decision, 'deny');
      assert.equal(r.reason, 'missing');
    }
  });

  test('a key scoped to one connector sees only that connector', async () => {
    const tools = namesOf(await ok(scopedKey, ['--method', 'tools/list']), 'tools');
    assert.ok(tools.length > 0);
    for (const n of tools) assert.match(n, /^fx__/);
    const prompts = namesOf(await ok(scopedKey, ['--method', 'prompts/list']), 'prompts');
    assert.deepEqual(prompts, ['fx__greet']);
    const resources = (await ok(scopedKey, ['--method', 'resources/list'])).resources as { uri: string }[];
    for (const r of resources) assert.match(r.uri, /^fx\+/);

    // The Inspector looks a tool up in tools/list before calling it, so a hidden tool fails on its side...
    const call = await inspect(scopedKey, ['--method', 'tools/call', '--tool-name', 'ev__echo', '--tool-arg', 'message=x']);
    assert.notEqual(call.code, 0);
    assert.equal(call.error?.code, 'tool_not_found');
    // ...while a hidden resource and prompt are sent and refused by the gateway as if they did not exist.
    const read = await inspect(scopedKey, ['--method', 'resources/read', '--uri', 'ev+demo://resource/static/document/features.md']);
    assert.notEqual(read.code, 0);
    assert.equal(read.error?.message, 'Resource not found');
    const prompt = await inspect(scopedKey, ['--method', 'prompts/get', '--prompt-name', 'ev__simple-prompt']);
    assert.notEqual(prompt.code, 0);
    assert.match(prompt.error?.message ?? '', /ev__simple-prompt/);
  });
});
