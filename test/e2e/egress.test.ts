// SSRF through the real gateway. With the secure default (no operator allowance) a connector pointing at loopback,
// the metadata address, a private range or plain http is refused when it is created - over the admin API and the
// CLI - with 400 and the reason; nothing is connected. With loopback allowed by the operator and a resolver the test
// controls, a name that later resolves to an internal address (DNS rebinding) is refused on the next connection and
// the call gets the egress error, not an answer. No test here sends a packet anywhere but to loopback.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { McpError, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { api } from './admin-client.ts';
import { connect, runCli, startFixtureHttpProcess, startGateway, waitFor, type Gateway, type UpstreamProcess } from './harness.ts';

const SECURE = { GATEHOUSE_ALLOW_PLAIN_HTTP_UPSTREAMS: '0', GATEHOUSE_EGRESS_ALLOW_CIDRS: '' };

describe('egress: the secure default', () => {
  let gw: Gateway | undefined;
  after(async () => {
    await gw?.close();
  });

  test('connectors at internal or plain-http destinations are refused at creation, with the reason', async () => {
    gw = await startGateway(SECURE);
    const cases: [string, RegExp][] = [
      ['http://127.0.0.1:9/mcp', /plain http/],
      ['https://127.0.0.1:9/mcp', /loopback/],
      ['https://127.1/mcp', /loopback/],
      ['https://[::ffff:127.0.0.1]/mcp', /loopback/],
      ['https://169.254.169.254/latest/meta-data/', /linkLocal/],
      ['https://10.0.0.1/mcp', /private/],
      ['https://[fd00::1]/mcp', /uniqueLocal/],
      ['https://user:pw@example.com/mcp', /credentials/i],
      ['https://localhost./mcp', /loopback/],
    ];
    for (const [url, why] of cases) {
      const r = await api(gw, gw.ownerKey, 'POST', '/connectors', { name: 'ssrf', type: 'http', url, headers: [] });
      assert.equal(r.status, 400, `${url}: ${r.text}`);
      assert.match(r.text, why, url);
    }
    const cli = await runCli(gw, ['connectors', 'add', 'ssrf', '--url', 'https://169.254.169.254/']);
    assert.notEqual(cli.code, 0);
    assert.match(cli.stderr, /Refused to connect: 169\.254\.169\.254 is a linkLocal address/);
    assert.deepEqual(await gw.app.services.store.listConnectors(gw.org.id), [], 'nothing was stored');
    const records = await gw.app.services.store.listAudit(gw.org.id, 0, 10_000);
    assert.ok(!records.some((r) => r.action === 'connector.add' && r.decision === 'allow'));
  });
});

describe('egress: DNS rebinding', () => {
  let gw: Gateway;
  let fx: UpstreamProcess;
  let client: Client;
  const clients: Client[] = [];
  let answer = '127.0.0.1';

  after(async () => {
    await client.close();
    for (const c of clients) await c.close();
    await gw.close();
    await fx.close();
  });

  test('a name that resolves to an internal address on a later connection is refused then, and the call says so', { timeout: 30_000 }, async () => {
    fx = await startFixtureHttpProcess();
    const port = new URL(fx.url).port;
    gw = await startGateway(
      { GATEHOUSE_ALLOW_PLAIN_HTTP_UPSTREAMS: '1', GATEHOUSE_EGRESS_ALLOW_CIDRS: '127.0.0.0/8' },
      { resolve: (host) => (host === 'upstream.test' ? Promise.resolve([{ address: answer, family: 4 }]) : Promise.reject(new Error('unknown'))) },
    );
    const created = await api(gw, gw.ownerKey, 'POST', '/connectors', { name: 'rb', type: 'http', url: `http://upstream.test:${port}/mcp`, headers: [] });
    assert.equal(created.status, 201, created.text);
    await waitFor(() => gw.app.federation.connection(gw.org.id, 'rb')?.state === 'ready', 10_000, 'the connector to connect');
    client = await connect(gw.url, gw.ownerKey);
    const ok = (await client.callTool({ name: 'rb__echo', arguments: { text: 'first' } })) as CallToolResult;
    assert.deepEqual(ok.content, [{ type: 'text', text: 'first' }]);

    answer = '10.0.0.1';
    // A session whose client answers elicitation gets upstream connections of its own: a new connection, so the name
    // is resolved again - and now points inside.
    const own = new Client({ name: 'eliciting', version: '1.0.0' }, { capabilities: { elicitation: {} } });
    await own.connect(new StreamableHTTPClientTransport(new URL(gw.url), { requestInit: { headers: { Authorization: `Bearer ${gw.ownerKey}` } } }));
    clients.push(own);
    const err = await own.callTool({ name: 'rb__echo', arguments: { text: 'second' } }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof McpError, `the call must fail, got ${JSON.stringify(err)}`);
    assert.equal(err.code, -32050);
    assert.match(err.message, /upstream\.test resolves to a private address/);
    const still = (await client.callTool({ name: 'rb__echo', arguments: { text: 'shared' } })) as CallToolResult;
    assert.deepEqual(still.content, [{ type: 'text', text: 'shared' }], 'the connection checked when it was made keeps its checked address');
    const records = await gw.app.services.store.listAudit(gw.org.id, 0, 10_000);
    assert.ok(records.some((r) => r.action === 'mcp.tools/call' && r.targetConnector === 'rb' && r.decision === 'deny' && r.reason?.startsWith('egress_refused:') === true), `audited: ${JSON.stringify(records.filter((r) => r.targetConnector === 'rb').map((r) => [r.action, r.decision, r.reason]))}`);
  });
});
