// OpenTelemetry end to end: the gateway exports its spans over OTLP/HTTP to a real receiver this test runs on
// loopback; a call makes one trace through the stages to the upstream, and a real HTTP upstream receives the W3C
// traceparent only from the connector that opted in. The collector's URL is an egress destination like any other.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config/load.ts';
import { api } from './admin-client.ts';
import { addAndConnect, connect, httpConnector, runCli, startFixtureHttpProcess, startGateway, type Gateway, type UpstreamProcess } from './harness.ts';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: { key: string; value: Record<string, unknown> }[];
}

/** An OTLP/HTTP traces receiver: keeps every span of every JSON export request. */
async function startReceiver(): Promise<{ url: string; spans: OtlpSpan[]; bodies: string[]; server: Server }> {
  const spans: OtlpSpan[] = [];
  const bodies: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      bodies.push(body);
      if (req.url === '/v1/traces' && req.method === 'POST') {
        const doc = JSON.parse(body) as { resourceSpans?: { scopeSpans?: { spans?: OtlpSpan[] }[] }[] };
        for (const rs of doc.resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) spans.push(...(ss.spans ?? []));
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${String((server.address() as AddressInfo).port)}/v1/traces`, spans, bodies, server };
}

const attr = (s: OtlpSpan, key: string): unknown => {
  const v = s.attributes.find((a) => a.key === key)?.value;
  return v === undefined ? undefined : Object.values(v)[0];
};

describe('tracing: OTLP export and opt-in trace context propagation', () => {
  let gw: Gateway;
  let upstream: UpstreamProcess;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let closed = false;
  before(async () => {
    receiver = await startReceiver();
    upstream = await startFixtureHttpProcess({ FIXTURE_HEADERS_TOOL: '1' });
    gw = await startGateway({ GATEHOUSE_OTLP_ENDPOINT: receiver.url });
    await addAndConnect(gw, { ...httpConnector('np', upstream.url, [{ name: 'X-Fixture-Token', value: 'fixture-secret-7781', secret: true }]) });
  });
  after(async () => {
    if (!closed) await gw.close();
    await upstream.close();
    await new Promise((resolve) => receiver.server.close(resolve));
  });

  test('the opt-in is set by the admin API and the CLI, and shown on the connector', async () => {
    const created = await api(gw, gw.ownerKey, 'POST', '/connectors', { type: 'http', name: 'tp', url: upstream.url, headers: [], propagateTraceContext: true });
    // The admin API refuses loopback for anyone but the operator; the CLI adds it instead.
    if (created.status === 201) assert.equal((created.body as { propagateTraceContext?: boolean }).propagateTraceContext, true);
    else {
      const add = await runCli(gw, ['connectors', 'add', 'tp', '--url', upstream.url, '--propagate-trace-context']);
      assert.equal(add.code, 0, add.stderr);
    }
    const off = await runCli(gw, ['connectors', 'trace-context', 'tp', 'off']);
    assert.equal(off.code, 0, off.stderr);
    const list = await api(gw, gw.ownerKey, 'GET', '/connectors');
    assert.equal((list.body as { connectors: { name: string; propagateTraceContext?: boolean }[] }).connectors.find((c) => c.name === 'tp')?.propagateTraceContext, undefined);
    const on = await runCli(gw, ['connectors', 'trace-context', 'tp', 'on']);
    assert.equal(on.code, 0, on.stderr);
    const again = await api(gw, gw.ownerKey, 'GET', '/connectors');
    assert.equal((again.body as { connectors: { name: string; propagateTraceContext?: boolean }[] }).connectors.find((c) => c.name === 'tp')?.propagateTraceContext, true);
    await gw.app.federation.sync();
    await gw.app.federation.settled();
  });

  test('the upstream that opted in gets the traceparent of the call; the other gets none; the spans form one trace', async () => {
    const client = await connect(gw.url, gw.ownerKey);
    let sent: Record<string, string>;
    let notSent: Record<string, string>;
    try {
      const withCtx = (await client.callTool({ name: 'tp__request_headers', arguments: {} })) as { content: { text: string }[] };
      sent = JSON.parse(withCtx.content[0]?.text ?? '{}') as Record<string, string>;
      const without = (await client.callTool({ name: 'np__request_headers', arguments: {} })) as { content: { text: string }[] };
      notSent = JSON.parse(without.content[0]?.text ?? '{}') as Record<string, string>;
    } finally {
      await client.close();
    }
    assert.equal(notSent.traceparent, undefined, 'a connector that did not opt in is sent no trace context');
    const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(sent.traceparent ?? '');
    assert.ok(m !== null, `traceparent: ${String(sent.traceparent)}`);
    const [, traceId, parentId] = m;
    // Closing the gateway flushes what the batch processor holds.
    await gw.close();
    closed = true;
    const trace = receiver.spans.filter((s) => s.traceId === traceId);
    const call = trace.find((s) => s.name === 'mcp tools/call');
    assert.ok(call !== undefined, `spans: ${trace.map((s) => s.name).join(', ')}`);
    assert.equal(attr(call, 'gatehouse.connector'), 'tp');
    assert.equal(attr(call, 'gatehouse.decision'), 'allow');
    const forward = trace.find((s) => s.name === 'stage forward');
    assert.ok(forward !== undefined);
    assert.equal(forward.spanId, parentId, 'the upstream is told the forward stage span');
    assert.equal(forward.parentSpanId, call.spanId);
    for (const stage of ['authenticate', 'receive', 'resolve', 'decide', 'limit', 'guard-pre', 'guard-post', 'scrub']) {
      assert.ok(trace.some((s) => s.name === `stage ${stage}` && s.parentSpanId === call.spanId), `stage ${stage}`);
    }
    const everything = receiver.bodies.join('\n');
    for (const secret of [gw.ownerKey, 'fixture-secret-7781', upstream.url]) assert.equal(everything.includes(secret), false, `a span carries ${secret.slice(0, 10)}…`);
  });
});

describe('tracing: the collector URL is an egress destination', () => {
  test('a collector on a refused address, or with credentials or a query in its URL, stops the start with a clear error', async () => {
    for (const endpoint of ['https://169.254.169.254/v1/traces', 'https://user:pw@collector.example/v1/traces', 'http://collector.example/v1/traces', 'ftp://x/']) {
      const config = loadConfig({ GATEHOUSE_DATA_DIR: '/nonexistent-gatehouse-dir', GATEHOUSE_OTLP_ENDPOINT: endpoint });
      await assert.rejects(createApp(config), (err: Error & { code?: string }) => err.code === 'config_invalid' && /OTLP/.test(err.message) && !err.message.includes('pw@'), endpoint);
    }
  });
});
