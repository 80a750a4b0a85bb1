// SSRF-safe egress end to end: what the admin API and the CLI refuse when a connector is stored, that the
// per-connector allowance is the operator's alone, and that a name which rebinds after the check is refused at
// call time. Every upstream is on loopback; names resolve through the test's own resolver (127.0.0.x only), so a
// broken refusal could at worst reach loopback.
import assert from 'node:assert/strict';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { api } from './admin-client.ts';
import { addAndConnect, connect, httpConnector, runCli, startFixtureHttpProcess, startGateway, waitFor, type Gateway, type UpstreamProcess } from './harness.ts';

/** The secure defaults a user gets: https only, no private addresses (the harness's loopback allowances undone). */
const STRICT = { GATEHOUSE_ALLOW_PLAIN_HTTP_UPSTREAMS: 'false', GATEHOUSE_EGRESS_ALLOW_CIDRS: '' };

describe('egress: refusals when a connector is stored', () => {
  let gw: Gateway;
  let upstream: UpstreamProcess;
  before(async () => {
    [gw, upstream] = await Promise.all([startGateway(STRICT), startFixtureHttpProcess()]);
  });
  after(async () => {
    await Promise.all([gw.close(), upstream.close()]);
  });

  const destinations = [
    'https://127.0.0.1/mcp', 'https://127.1/mcp', 'https://2130706433/mcp', 'https://0177.0.0.1/mcp', 'https://0x7f.1/mcp',
    'https://①②⑦.⓪.⓪.①/mcp', 'https://169.254.169.254/latest/meta-data/', 'https://10.0.0.1/mcp', 'https://[::1]/mcp',
    'https://[::ffff:169.254.169.254]/', 'https://[64:ff9b::a9fe:a9fe]/', 'https://localhost/mcp', 'http://example.com/mcp',
    'https://user:pw@example.com/mcp',
  ];
  test('the admin API answers 400 egress_refused, with the reason, and stores nothing', async () => {
    for (const url of destinations) {
      const res = await api(gw, gw.ownerKey, 'POST', '/connectors', { type: 'http', name: 'bad', url });
      assert.equal(res.status, 400, `${url}: ${res.text}`);
      const error = (res.body as { error: { code: string; message: string } }).error;
      assert.equal(error.code, 'egress_refused', url);
      assert.match(error.message, /^Destination refused: /);
      assert.doesNotMatch(error.message, /pw/);
    }
    assert.deepEqual(await gw.app.services.store.listConnectors(gw.org.id), []);
  });

  test('the admin API cannot grant the private-network allowance, on create or update', async () => {
    const created = await api(gw, gw.ownerKey, 'POST', '/connectors', { type: 'http', name: 'lan', url: upstream.url, allowPrivateNetwork: true });
    assert.equal(created.status, 400);
    assert.deepEqual(await gw.app.services.store.listConnectors(gw.org.id), []);
  });

  test('the CLI refuses a loopback upstream by default, and the operator may allow it for one connector (audited)', async () => {
    const plain = { GATEHOUSE_ALLOW_PLAIN_HTTP_UPSTREAMS: 'true' };
    const refused = await runCli(gw, ['connectors', 'add', 'local', '--url', upstream.url], { ...STRICT, ...plain });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /Destination refused: the address is loopback/);
    const allowed = await runCli(gw, ['connectors', 'add', 'local', '--url', upstream.url, '--allow-private-network'], { ...STRICT, ...plain });
    assert.equal(allowed.code, 0, allowed.stderr);
    const stored = await gw.app.services.store.getConnectorByName(gw.org.id, 'local');
    assert.equal(stored?.transport.type === 'http' && stored.transport.allowPrivateNetwork, true);
    const records = await gw.app.services.store.listAudit(gw.org.id, 0, 10_000);
    const grant = records.find((r) => r.action === 'connector.egress_allowance' && r.targetConnector === 'local');
    assert.ok(grant !== undefined);
    assert.match(grant.args ?? '', /connector_allow_private_network/);

    // An admin changing the URL drops the allowance: it was granted for the old destination.
    const id = stored?.id ?? '';
    const moved = await api(gw, gw.ownerKey, 'PATCH', `/connectors/${id}`, { url: upstream.url.replace('127.0.0.1', '127.0.0.2') });
    assert.equal(moved.status, 400, moved.text);
    assert.equal((moved.body as { error: { code: string } }).error.code, 'egress_refused');
  });
});

describe('egress: DNS rebinding at call time', () => {
  let gw: Gateway;
  let upstream: UpstreamProcess;
  let client: Client;
  let answer = '127.0.0.1';
  before(async () => {
    upstream = await startFixtureHttpProcess();
    // Only 127.0.0.1 is allowed: the name rebinds to 127.0.0.2, which stands for any address the check refuses.
    gw = await startGateway({ GATEHOUSE_EGRESS_ALLOW_CIDRS: '127.0.0.1/32' }, { resolver: () => Promise.resolve([answer]) });
    const port = new URL(upstream.url).port;
    await addAndConnect(gw, httpConnector('rebind', `http://upstream.test:${port}/mcp`));
    client = await connect(gw.url, gw.ownerKey);
  });
  after(async () => {
    await client.close();
    await Promise.all([gw.close(), upstream.close()]);
  });

  test('a call through an allowed address is audited with the allowance that admitted it', async () => {
    const r = await client.callTool({ name: 'rebind__pid', arguments: {} });
    assert.notEqual(r.isError, true);
    await waitFor(async () => (await gw.app.services.store.listAudit(gw.org.id, 0, 10_000)).some((e) => e.targetName === 'pid' && /egress_allow_cidrs/.test(e.detail ?? '')));
  });

  test('after the name rebinds, the next connection is refused before connecting, and calls get egress_refused', async () => {
    answer = '127.0.0.2';
    await upstream.close(); // its sockets end: the gateway must open new ones, each resolved and checked again
    upstream = await startFixtureHttpProcess();
    const refusedCall = (err: Error & { code?: number }) => err.code === -32050 && /Destination refused/.test(err.message);
    // The call's own new socket is refused before connecting; the connection then reconnects, is refused again the
    // same way, and calls keep being answered with that reason.
    await assert.rejects(client.callTool({ name: 'rebind__pid', arguments: {} }), refusedCall);
    await waitFor(() => gw.logs.some((l) => l.includes('upstream connection refused by egress')), 15_000, 'the refused reconnect');
    await assert.rejects(client.callTool({ name: 'rebind__pid', arguments: {} }), refusedCall);
    await waitFor(async () => (await gw.app.services.store.listAudit(gw.org.id, 0, 10_000)).some((e) => e.targetName === 'pid' && e.reason === 'egress_refused'));
  });

  test("a session's own connection (its client answers elicitation) is refused the same way, and says so", async () => {
    const own = new Client({ name: 'eliciting', version: '1.0.0' }, { capabilities: { elicitation: {} } });
    await own.connect(new StreamableHTTPClientTransport(new URL(gw.url), { requestInit: { headers: { Authorization: `Bearer ${gw.ownerKey}` } } }));
    try {
      await assert.rejects(own.callTool({ name: 'rebind__pid', arguments: {} }), (err: Error & { code?: number }) => err.code === -32050 && /Destination refused/.test(err.message));
    } finally {
      await own.close();
    }
  });
});
