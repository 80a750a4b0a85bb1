// /metrics end to end: a real gateway, a real HTTP upstream, real calls; the scrape is refused without the operator's
// token or network rule, and what it shows counts the calls with bounded labels that carry no secret.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api } from './admin-client.ts';
import { addAndConnect, connect, httpConnector, startFixtureHttpProcess, startGateway, type Gateway, type UpstreamProcess } from './harness.ts';

const TOKEN = 'metrics-token-for-the-e2e-suite-0123456789abcdef';

function metricsUrl(gw: Gateway): string {
  return gw.url.replace(/\/mcp$/, '/metrics');
}

async function scrape(gw: Gateway, headers: Record<string, string> = {}): Promise<{ status: number; text: string; type: string | null }> {
  const res = await fetch(metricsUrl(gw), { headers });
  return { status: res.status, text: await res.text(), type: res.headers.get('content-type') };
}

/** The value of one sample line, `name{labels} value`, or undefined when the series is absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('metrics: behind the operator token', () => {
  let gw: Gateway;
  let upstream: UpstreamProcess;
  before(async () => {
    upstream = await startFixtureHttpProcess();
    gw = await startGateway({ GATEHOUSE_METRICS_TOKEN: TOKEN });
    await addAndConnect(gw, httpConnector('fx', upstream.url, [{ name: 'X-Upstream-Key', value: 'upstream-secret-value-42', secret: true }]));
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  test('no token, a wrong token, a token as a query string: refused, and the refusal says nothing of the metrics', async () => {
    for (const headers of [{} as Record<string, string>, { authorization: `Bearer ${TOKEN}x` }, { authorization: 'Bearer ' }, { authorization: TOKEN }, { authorization: `Basic ${TOKEN}` }]) {
      const r = await scrape(gw, headers);
      assert.equal(r.status, 401, JSON.stringify(headers));
      assert.doesNotMatch(r.text, /gatehouse_/);
    }
    const q = await fetch(`${metricsUrl(gw)}?token=${TOKEN}`);
    assert.equal(q.status, 401);
    await q.body?.cancel();
    const post = await fetch(metricsUrl(gw), { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(post.status, 405);
    await post.body?.cancel();
  });

  test('calls are counted by method, decision and connector; latency, audit and upstream health are there; no secret', async () => {
    const client = await connect(gw.url, gw.ownerKey);
    try {
      for (let i = 0; i < 3; i++) await client.callTool({ name: 'fx__echo', arguments: { text: `hello ${i}` } });
      await client.callTool({ name: 'fx__no_such_tool', arguments: {} }).catch(() => undefined);
    } finally {
      await client.close();
    }
    const r = await scrape(gw, { authorization: `Bearer ${TOKEN}` });
    assert.equal(r.status, 200, r.text);
    assert.match(r.type ?? '', /^text\/plain; version=0\.0\.4/);
    assert.equal(sample(r.text, 'gatehouse_requests_total{method="tools/call",decision="allow",connector="fx"}'), 3);
    // An unknown tool is refused before it resolves to a connector: its name is not a label value.
    assert.ok((sample(r.text, 'gatehouse_requests_total{method="tools/call",decision="deny",connector="none"}') ?? 0) >= 1, r.text);
    assert.doesNotMatch(r.text, /no_such_tool/);
    assert.ok((sample(r.text, 'gatehouse_requests_total{method="initialize",decision="allow",connector="none"}') ?? 0) >= 1);
    assert.equal(sample(r.text, 'gatehouse_request_duration_seconds_count{method="tools/call",decision="allow"}'), 3);
    assert.ok((sample(r.text, 'gatehouse_audit_write_seconds_count') ?? 0) >= 5);
    assert.equal(sample(r.text, 'gatehouse_audit_write_failures_total'), 0);
    assert.equal(sample(r.text, 'gatehouse_upstream_connections{state="ready"}'), 1);
    assert.equal(sample(r.text, `gatehouse_upstream_up{org="${gw.org.id}",connector="fx"}`), 1);
    assert.ok((sample(r.text, 'gatehouse_process_cpu_seconds_total') ?? -1) >= 0);
    for (const secret of [gw.ownerKey, gw.ownerKey.slice(0, 20), 'upstream-secret-value-42', TOKEN, 'hello 1', upstream.url]) {
      assert.equal(r.text.includes(secret), false, `the metrics carry ${secret.slice(0, 12)}…`);
    }
  });

  test('a failed upstream shows in the health gauges', async () => {
    await upstream.close();
    const deadline = Date.now() + 10_000;
    let r = await scrape(gw, { authorization: `Bearer ${TOKEN}` });
    while (sample(r.text, `gatehouse_upstream_up{org="${gw.org.id}",connector="fx"}`) !== 0 && Date.now() < deadline) {
      // A call notices a dead keep-alive socket sooner than the reconnect timer.
      const client = await connect(gw.url, gw.ownerKey);
      await client.callTool({ name: 'fx__echo', arguments: { text: 'x' } }).catch(() => undefined);
      await client.close();
      await new Promise((res) => setTimeout(res, 200));
      r = await scrape(gw, { authorization: `Bearer ${TOKEN}` });
    }
    assert.equal(sample(r.text, `gatehouse_upstream_up{org="${gw.org.id}",connector="fx"}`), 0, r.text);
    assert.equal(sample(r.text, 'gatehouse_upstream_connections{state="ready"}'), 0);
  });
});

describe('metrics: the operator network rule, and limiter refusals', () => {
  let gw: Gateway;
  before(async () => {
    gw = await startGateway({ GATEHOUSE_METRICS_ALLOW_CIDRS: '127.0.0.1/32' });
  });
  after(async () => {
    await gw.close();
  });

  test('an allowed address scrapes without a token; refusals are counted by limit', async () => {
    assert.equal((await api(gw, gw.ownerKey, 'PUT', '/traffic/org-limit', { limit: '1/h,burst=2' })).status, 200);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await fetch(gw.url, {
        method: 'POST',
        headers: { authorization: `Bearer ${gw.ownerKey}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: i, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } }),
      });
      // A refused initialize is answered with a JSON-RPC error (HTTP 200 or 429).
      const body = (await res.json()) as { error?: { message?: string } };
      statuses.push(res.status === 429 || /rate limit/i.test(body.error?.message ?? '') ? 429 : res.status);
    }
    assert.ok(statuses.includes(429), statuses.join(','));
    const r = await scrape(gw);
    assert.equal(r.status, 200, r.text);
    assert.equal(sample(r.text, 'gatehouse_limit_refusals_total{limit="org"}'), statuses.filter((s) => s === 429).length);
  });
});

describe('metrics: neither a token nor a network rule', () => {
  let gw: Gateway;
  before(async () => {
    gw = await startGateway();
  });
  after(async () => {
    await gw.close();
  });

  test('refused to everyone, even from loopback', async () => {
    const r = await scrape(gw, { authorization: `Bearer ${TOKEN}` });
    assert.equal(r.status, 404);
    assert.doesNotMatch(r.text, /gatehouse_/);
  });
});
