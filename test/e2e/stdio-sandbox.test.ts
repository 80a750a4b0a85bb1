/**
 * stdio connectors are code execution: through the real gateway and the SDK client, the fixture reports from inside
 * its process what it can reach. In the sandbox (bubblewrap) it cannot reach the network (unless its connector
 * declares it), cannot write outside its private /tmp, cannot read the gateway's data directory, is alone in its PID
 * namespace and sees none of the gateway's environment. Closing a connector takes every process it started with it,
 * sandboxed or not. A record written past the service with a refused variable does not start.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { detectSandbox } from '../../src/sandbox/sandbox.ts';
import { removeConnector, connectorIdByName } from '../../src/services/connectors.ts';
import { operatorActor } from '../../src/services/context.ts';
import { descendantsOf, hostPidOf, isAlive, type ProcessIdentity } from '../fixtures/sandbox-tools.ts';
import { addAndConnect, connect, FIXTURE, NODE, ROOT, runCli, startGateway, stdioFixture, waitFor, type Gateway } from './harness.ts';

const support = detectSandbox();
const noSandbox = support.works ? false : `bubblewrap does not work on this host: ${support.problem ?? 'unknown'}`;
const TOOLS = [{ name: 'FIXTURE_SANDBOX_TOOLS', value: '1', secret: false }];
/** What a child may see of the gateway's environment, besides what its connector declares (bwrap sets PWD). */
const BASICS = new Set(['PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LANGUAGE', 'TZ', 'TERM', 'PWD', 'FIXTURE_SANDBOX_TOOLS']);

async function tool(client: Client, name: string, args: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  const first = result.content[0];
  assert.ok(first?.type === 'text', `${name} answered ${JSON.stringify(result)}`);
  return JSON.parse(first.text) as Record<string, unknown>;
}

/** A loopback TCP port that counts the connections it gets. */
async function listen(): Promise<{ port: number; accepted: () => number; server: Server }> {
  let accepted = 0;
  const server = createServer((s) => {
    accepted++;
    s.destroy();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  return { port: typeof address === 'object' && address !== null ? address.port : 0, accepted: () => accepted, server };
}

/** Adds a connector, spawns a grandchild in it, and returns every host pid the connector's processes have. */
async function processesOf(gw: Gateway, client: Client, name: string, detached: boolean): Promise<number[]> {
  const leader = gw.app.federation.connection(gw.org.id, name)?.pid;
  assert.ok(leader !== undefined, 'the connection knows its process');
  const grandchild = hostPidOf((await tool(client, `${name}__spawn_grandchild`, { detached })) as unknown as ProcessIdentity);
  assert.ok(grandchild !== undefined && isAlive(grandchild), 'the grandchild runs');
  const all = [leader, ...descendantsOf(leader)];
  assert.ok(all.includes(grandchild), 'the grandchild descends from the connection');
  return all;
}

async function removeAndWait(gw: Gateway, name: string, pids: readonly number[]): Promise<void> {
  await removeConnector(gw.app.services, operatorActor('test'), gw.org.id, await connectorIdByName(gw.app.services, gw.org.id, name));
  await gw.app.federation.sync();
  await waitFor(() => pids.every((p) => !isAlive(p)), 10_000, 'every process of the connector to be gone');
}

describe('stdio connectors in the bubblewrap sandbox', { skip: noSandbox }, () => {
  let gw: Gateway;
  let client: Client;
  let port: Awaited<ReturnType<typeof listen>>;
  // Outside /tmp, so hiding it is the sandbox's doing and not that of the private /tmp.
  const dataDir = mkdtempSync(join('/var/tmp', 'gatehouse-sandbox-e2e-'));
  const canary = `canary-${randomBytes(12).toString('hex')}`;

  before(async () => {
    // The gateway's own environment: none of it may reach a child.
    process.env.GATEHOUSE_SANDBOX_CANARY = canary;
    process.env.AWS_SECRET_ACCESS_KEY = canary;
    port = await listen();
    gw = await startGateway({ GATEHOUSE_DATA_DIR: dataDir });
    await addAndConnect(gw, stdioFixture('sb', TOOLS));
    await addAndConnect(gw, { name: 'sbnet', type: 'stdio', command: NODE, args: [FIXTURE, '--stdio'], env: TOOLS, network: true });
    client = await connect(gw.url, gw.ownerKey);
  });

  after(async () => {
    delete process.env.GATEHOUSE_SANDBOX_CANARY;
    delete process.env.AWS_SECRET_ACCESS_KEY;
    await client.close();
    await gw.close();
    port.server.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('the gateway says at start what stdio connectors run in', () => {
    assert.ok(gw.logs.some((l) => l.includes('stdio connectors run in bubblewrap')));
  });

  test('without --network the process cannot reach a loopback port of the host; with it, it can', async () => {
    const offline = await tool(client, 'sb__net_probe', { host: '127.0.0.1', port: port.port });
    assert.equal(offline.connected, false);
    assert.equal(port.accepted(), 0, 'nothing reached the port');
    const online = await tool(client, 'sbnet__net_probe', { host: '127.0.0.1', port: port.port });
    assert.equal(online.connected, true);
    await waitFor(() => port.accepted() === 1, 2000, 'the connection to arrive');
  });

  test('it cannot write outside /tmp; its /tmp is private; the data directory is hidden', async () => {
    const outside = join(ROOT, `sandbox-probe-${randomBytes(6).toString('hex')}`);
    const r = await tool(client, 'sb__fs_probe', { write: outside, read: join(dataDir, 'master.key') });
    assert.equal(r.write, 'EROFS');
    assert.equal(existsSync(outside), false);
    assert.ok(existsSync(join(dataDir, 'master.key')), 'the key file exists on the host');
    assert.equal(r.read, 'ENOENT', 'the master key file is not visible inside');

    const name = `private-${randomBytes(6).toString('hex')}`;
    const inTmp = await tool(client, 'sb__fs_probe', { write: `/tmp/${name}` });
    assert.equal(inTmp.write, 'ok');
    assert.ok((inTmp.tmp as string[]).includes(name));
    assert.ok(!readdirSync('/tmp').includes(name), "the file is not in the host's /tmp");
    assert.ok(!((await tool(client, 'sbnet__fs_probe', {})).tmp as string[]).includes(name), "nor in another connector's /tmp");
  });

  test('it is alone in its own PID namespace and sees none of the gateway environment', async () => {
    const view = await tool(client, 'sb__process_view');
    const visible = view.visiblePids as number[];
    assert.ok(!visible.includes(process.pid), 'the gateway process is not visible');
    assert.ok(visible.length <= 4 && visible.every((p) => p <= 10), `only the sandbox's own processes: ${visible.join(',')}`);
    assert.deepEqual(view.gatehouseVars, []);
    const unexpected = (view.envNames as string[]).filter((n) => !BASICS.has(n) && !n.startsWith('LC_'));
    assert.deepEqual(unexpected, [], 'only the basics and the declared variables');
    assert.ok(!JSON.stringify(view).includes(canary));
  });

  test('a call to a sandboxed connector says so in its audit record', async () => {
    await client.callTool({ name: 'sb__echo', arguments: { text: 'audited' } });
    const records = await gw.app.services.store.listAudit(gw.org.id, 0, 5000);
    const record = records.findLast((r) => r.action === 'mcp.tools/call' && r.targetConnector === 'sb');
    assert.ok(record !== undefined);
    assert.equal((JSON.parse(record.detail ?? '{}') as { sandbox?: string }).sandbox, 'bwrap');
  });

  test('closing the connector ends every process in its sandbox, a grandchild in a session of its own too', async () => {
    await addAndConnect(gw, stdioFixture('sbgone', TOOLS));
    const pids = await processesOf(gw, client, 'sbgone', true);
    await removeAndWait(gw, 'sbgone', pids);
  });
});

describe('stdio connectors without the sandbox', () => {
  let gw: Gateway;
  let client: Client;

  before(async () => {
    gw = await startGateway({ GATEHOUSE_STDIO_SANDBOX: 'off' });
    client = await connect(gw.url, gw.ownerKey);
  });

  after(async () => {
    await client.close();
    await gw.close();
  });

  test('the gateway warns at start that stdio connectors are not sandboxed', () => {
    assert.ok(gw.logs.some((l) => l.includes('"level":40') && l.includes('without a sandbox')));
  });

  test('closing the connector kills its process group: the grandchild is gone too', async () => {
    await addAndConnect(gw, stdioFixture('plain', TOOLS));
    const pids = await processesOf(gw, client, 'plain', false);
    await removeAndWait(gw, 'plain', pids);
  });

  test('the environment is still an allowlist', async () => {
    process.env.GATEHOUSE_SANDBOX_CANARY = 'x';
    try {
      await addAndConnect(gw, stdioFixture('plainenv', TOOLS));
      const view = await tool(client, 'plainenv__process_view');
      assert.deepEqual(view.gatehouseVars, []);
      assert.deepEqual((view.envNames as string[]).filter((n) => !BASICS.has(n) && !n.startsWith('LC_')), []);
    } finally {
      delete process.env.GATEHOUSE_SANDBOX_CANARY;
    }
  });

  test("the operator's CLI refuses a shell and a loader variable unless forced, and the flags are shown", async () => {
    const shell = await runCli(gw, ['connectors', 'add', 'cli-shell', '--command', '/bin/sh', '--', '-c', 'id']);
    assert.notEqual(shell.code, 0);
    assert.match(shell.stderr, /shell/i);
    const preload = await runCli(gw, ['connectors', 'add', 'cli-preload', '--command', NODE, '--env', 'LD_PRELOAD=/tmp/x.so', '--', FIXTURE, '--stdio']);
    assert.notEqual(preload.code, 0);
    assert.match(preload.stderr, /LD_PRELOAD/);
    const names = (await gw.app.services.store.listConnectors(gw.org.id)).map((c) => c.name);
    assert.ok(!names.includes('cli-shell') && !names.includes('cli-preload'), 'nothing refused was stored');
    const forced = await runCli(gw, ['connectors', 'add', 'cli-forced', '--command', '/bin/sh', '--allow-shell', '--', '-c', 'exit 0']);
    assert.equal(forced.code, 0, forced.stderr);
    const listed = await runCli(gw, ['connectors', 'list']);
    assert.match(listed.stdout, /cli-forced.*allow-shell/);
  });

  test('a record written past the service with a refused variable does not start', async () => {
    const now = new Date().toISOString();
    await gw.app.services.store.insertConnector({
      id: 'con_forged',
      orgId: gw.org.id,
      name: 'forged',
      transport: { type: 'stdio', command: process.execPath, args: [FIXTURE, '--stdio'], env: [{ name: 'NODE_OPTIONS', secret: false, value: '--require /nonexistent.js' }] },
      createdAt: now,
      updatedAt: now,
    });
    await gw.app.federation.sync();
    await waitFor(() => gw.logs.some((l) => l.includes('NODE_OPTIONS') && l.includes('upstream connection failed')), 5000, 'the refusal in the log');
    assert.notEqual(gw.app.federation.connection(gw.org.id, 'forged')?.state, 'ready');
  });
});
