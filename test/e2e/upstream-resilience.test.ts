// Upstream resilience through the real gateway, with the fixture misbehaving on purpose: a tool that hangs (wait),
// one that sends progress for a minute (slow), and an upstream that times out until it is asked something it can
// answer. Each connector has its own limits; health is read from the admin API and from the CLI.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpError, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { ConnectorView } from '../../src/services/connectors.ts';
import { readHealthSnapshot } from '../../src/gateway/upstream/health-snapshot.ts';
import { api } from './admin-client.ts';
import { addAndConnect, connect, httpConnector, runCli, startFixtureHttpProcess, startGateway, stdioFixture, waitFor, type Gateway, type UpstreamProcess } from './harness.ts';

let gw: Gateway;
let client: Client;
let web: UpstreamProcess;
/** The fixture with its wait and cancelled_waits tools. */
const fixture = (name: string) => stdioFixture(name, [{ name: 'FIXTURE_CLIENT_TOOLS', value: '1', secret: false }]);

before(async () => {
  gw = await startGateway();
  web = await startFixtureHttpProcess();
  await addAndConnect(gw, { ...fixture('hang'), limits: { timeoutMs: 400 } });
  await addAndConnect(gw, { ...fixture('spam'), limits: { timeoutMs: 300, maxCallMs: 1200 } });
  await addAndConnect(gw, { ...fixture('cap'), limits: { maxConcurrent: 2 } });
  await addAndConnect(gw, { ...fixture('brk'), limits: { timeoutMs: 300, breakerFailures: 2, breakerOpenMs: 1000 } });
  // Over HTTP, so that the admin API may change it (stdio connectors are the operator's).
  await addAndConnect(gw, { ...httpConnector('web', web.url), limits: { maxConcurrent: 2 } });
  client = await connect(gw.url, gw.ownerKey);
});

after(async () => {
  await client.close();
  await gw.close();
  await web.close();
});

/** The JSON-RPC error a call ends with (and how long it took), failing the test if it succeeded. */
async function failure(name: string, args: Record<string, unknown>, options: Parameters<Client['callTool']>[2] = {}): Promise<{ err: McpError; ms: number }> {
  const started = performance.now();
  const err = await client.callTool({ name, arguments: args }, undefined, options).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof McpError, `expected ${name} to fail with a JSON-RPC error, got ${String(err)}`);
  return { err, ms: performance.now() - started };
}

async function connector(name: string): Promise<ConnectorView> {
  const res = await api(gw, gw.ownerKey, 'GET', '/connectors');
  assert.equal(res.status, 200);
  const found = (res.body as { connectors: ConnectorView[] }).connectors.find((c) => c.name === name);
  assert.ok(found !== undefined, `connector ${name} is listed`);
  return found;
}

function textOf(result: unknown): string {
  const content = (result as CallToolResult).content[0];
  return content?.type === 'text' ? content.text : '';
}

describe('per-connector timeout', () => {
  test('a hanging call answers upstream_timeout with the limit, and the upstream receives notifications/cancelled', async () => {
    const { err, ms } = await failure('hang__wait', { ms: 20_000, tag: 'hung-1' });
    assert.equal(err.code, -32011);
    assert.match(err.message, /did not answer in time \(400 ms\)/);
    assert.ok(ms < 5000, `answered after ${String(ms)} ms`);
    await waitFor(async () => textOf(await client.callTool({ name: 'hang__cancelled_waits', arguments: {} })).includes('hung-1'), 5000, 'the upstream to see the cancellation');
    const health = (await connector('hang')).health;
    assert.equal(health?.lastError?.code, 'upstream_timeout');
    assert.equal(health.inFlight, 0);
  });
});

describe('hard maximum per call', () => {
  test('progress keeps a call past its timeout, but not past maxCallMs: the progress-spamming call is ended', async () => {
    let progress = 0;
    const { err, ms } = await failure('spam__slow', { ms: 60_000, steps: 1000 }, {
      onprogress: () => {
        progress++;
      },
      timeout: 30_000,
    });
    assert.equal(err.code, -32017);
    assert.match(err.message, /maximum of 1200 ms/);
    assert.ok(ms >= 1100 && ms < 6000, `ended after ${String(ms)} ms`);
    assert.ok(progress >= 5, `progress kept the call alive past its 300 ms timeout (${String(progress)} notifications)`);
  });
});

describe('concurrency cap', () => {
  test('the (cap+1)th concurrent call is refused at once with upstream_overloaded; the cap gets through', async () => {
    const running = [0, 1].map((i) => client.callTool({ name: 'cap__wait', arguments: { ms: 1500, tag: `cap-${String(i)}` } }));
    await waitFor(async () => (await connector('cap')).health?.inFlight === 2, 5000, 'two calls in flight');
    const { err, ms } = await failure('cap__add', { a: 1, b: 2 });
    assert.equal(err.code, -32015);
    assert.match(err.message, /limit of 2 concurrent calls/);
    assert.ok(ms < 1000, `refused after ${String(ms)} ms`);
    for (const r of await Promise.all(running)) assert.equal(textOf(r), 'waited 1500ms');
    assert.equal(textOf(await client.callTool({ name: 'cap__add', arguments: { a: 1, b: 2 } })), '3');
    assert.equal((await connector('cap')).health?.inFlight, 0);
  });
});

describe('circuit breaker', () => {
  test('opens after the threshold, refuses fast while open, half-opens after openMs and closes on a good probe', async () => {
    for (const tag of ['brk-1', 'brk-2']) assert.equal((await failure('brk__wait', { ms: 20_000, tag })).err.code, -32011);
    const brk = await connector('brk');
    const open = brk.health;
    assert.equal(open?.breaker, 'open');
    assert.equal(open.consecutiveFailures, 2);
    assert.equal(open.lastError?.code, 'upstream_timeout');
    assert.ok(open.retryAt !== null);

    const refused = await failure('brk__add', { a: 1, b: 1 });
    assert.equal(refused.err.code, -32016);
    assert.ok(refused.ms < 250, `refused after ${String(refused.ms)} ms`);

    // The CLI, a process of its own, shows the health the serving gateway reports (it takes longer to start than the
    // circuit stays open, so it may already show the circuit half-open).
    // The gateway writes that snapshot once a second: wait for the one taken after the second failure.
    await waitFor(() => Promise.resolve(readHealthSnapshot(gw.dataDir)?.[brk.id]?.consecutiveFailures === 2), 5000, 'the health snapshot to show both failures');
    const listed = await runCli(gw, ['connectors', 'list']);
    assert.match(listed.stdout, /^brk .* breaker=(open|half-open) in-flight=0 failures=2\/2 last=upstream_timeout$/m);

    await waitFor(async () => (await connector('brk')).health?.breaker === 'half-open', 5000, 'the circuit to half-open');
    assert.equal(textOf(await client.callTool({ name: 'brk__add', arguments: { a: 1, b: 1 } })), '2');
    const closed = (await connector('brk')).health;
    assert.equal(closed?.breaker, 'closed');
    assert.equal(closed.consecutiveFailures, 0);
    assert.equal(closed.recentFailures, 2);
  });

  test('a failed probe opens the circuit again', async () => {
    for (const tag of ['brk-3', 'brk-4']) await failure('brk__wait', { ms: 20_000, tag });
    assert.equal((await connector('brk')).health?.breaker, 'open');
    await waitFor(async () => (await connector('brk')).health?.breaker === 'half-open', 5000, 'the circuit to half-open');
    assert.equal((await failure('brk__wait', { ms: 20_000, tag: 'brk-probe' })).err.code, -32011);
    assert.equal((await connector('brk')).health?.breaker, 'open');
    assert.equal((await failure('brk__add', { a: 1, b: 1 })).err.code, -32016);
  });
});

describe('limits are validated and settable by API and CLI', () => {
  test('nonsense is refused with a clear 400 and changes nothing', async () => {
    const { id } = await connector('web');
    for (const limits of [{ timeoutMs: 5 }, { maxConcurrent: 0 }, { maxCallMs: 1.5 }, { breakerFailures: 'many' }, { retries: 3 }, { timeoutMs: 5000, maxCallMs: 1000 }]) {
      const res = await api(gw, gw.ownerKey, 'PATCH', `/connectors/${id}`, { limits });
      assert.equal(res.status, 400, `${JSON.stringify(limits)} refused: ${res.text}`);
    }
    const created = await api(gw, gw.ownerKey, 'POST', '/connectors', { type: 'http', name: 'bad-limits', url: 'http://127.0.0.1:9/mcp', limits: { maxConcurrent: -1 } });
    assert.equal(created.status, 400);
    assert.deepEqual((await connector('web')).limits, { maxConcurrent: 2 });

    const cli = await runCli(gw, ['connectors', 'update', 'web', '--timeout-ms', 'soon']);
    assert.notEqual(cli.code, 0);
    assert.match(cli.stderr, /--timeout-ms must be a whole number/);
    const range = await runCli(gw, ['connectors', 'update', 'web', '--max-concurrent', '0']);
    assert.notEqual(range.code, 0);
    assert.match(range.stderr, /maxConcurrent must be a whole number from 1/);
  });

  test('the API and the CLI set and clear them', async () => {
    const { id } = await connector('web');
    const patched = await api(gw, gw.ownerKey, 'PATCH', `/connectors/${id}`, { limits: { maxConcurrent: 3, breakerOpenMs: 5000 } });
    assert.equal(patched.status, 200, patched.text);
    assert.deepEqual((patched.body as ConnectorView).limits, { maxConcurrent: 3, breakerOpenMs: 5000 });
    const set = await runCli(gw, ['connectors', 'update', 'web', '--max-concurrent', '1', '--timeout-ms', '2000']);
    assert.equal(set.code, 0, set.stderr);
    assert.deepEqual((await connector('web')).limits, { maxConcurrent: 1, timeoutMs: 2000 });
    const listed = await runCli(gw, ['connectors', 'list']);
    assert.match(listed.stdout, /^web .* timeoutMs=2000 maxConcurrent=1 +ready breaker=closed in-flight=0 failures=0\/0$/m);
    const cleared = await runCli(gw, ['connectors', 'update', 'web', '--clear-limits']);
    assert.equal(cleared.code, 0, cleared.stderr);
    assert.equal((await connector('web')).limits, undefined);
  });
});
