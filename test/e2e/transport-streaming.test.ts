// Streamable HTTP streaming behaviour: a request with a progressToken is answered with an SSE stream that carries
// the upstream's progress before the result, and a cancelled request stops the upstream work.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult, Progress } from '@modelcontextprotocol/sdk/types.js';
import type { AuditRecord } from '../../src/store/types.ts';
import { addAndConnect, connect, rawPost, startGateway, stdioFixture, waitFor, type Gateway } from './harness.ts';

function firstText(result: unknown): string {
  const block = (result as CallToolResult).content[0];
  assert.ok(block?.type === 'text', 'expected a text block');
  return block.text;
}

/** The JSON-RPC messages of a complete SSE body, in order. */
function sseMessages(text: string): unknown[] {
  const messages: unknown[] = [];
  for (const event of text.split('\n\n')) {
    const lines = event.split('\n');
    const data = lines.filter((l) => l.startsWith('data: ')).map((l) => l.slice(6));
    // The priming event (an id and empty data, 2025-11-25) carries no message.
    if (data.length === 0 || (data.length === 1 && data[0] === '')) continue;
    assert.ok(lines.some((l) => /^id: \d+-\d+$/.test(l)), `event without a resumable id: ${event}`);
    assert.ok(lines.includes('event: message'), `unexpected SSE event: ${event}`);
    messages.push(JSON.parse(data.join('\n')) as unknown);
  }
  return messages;
}

/**
 * The progress seen, as [progress, total, message], is exactly the upstream's `steps` notifications in order. The
 * SDK's client dispatches a notification a microtask later than a response read in the same chunk
 * (modelcontextprotocol/typescript-sdk#2580), which used to drop the last one through the gateway; the gateway's
 * upstream transports now hand responses over a macrotask later, and no notification may go missing.
 */
function assertProgress(seen: unknown[][], steps: number): void {
  const expected = Array.from({ length: steps }, (_, i) => [i + 1, steps, `step ${i + 1}/${steps}`]);
  assert.deepEqual(seen, expected);
}

describe('Streamable HTTP: progress and cancellation', () => {
  let gw: Gateway;
  let client: Client;

  /** Waits for the audit record of the cancelled `slow` call of `ms`: cancelled, and long before `ms` had passed. */
  async function assertAuditedAsCancelled(ms: number): Promise<void> {
    let record: AuditRecord | undefined;
    await waitFor(
      async () => {
        const records = await gw.app.services.store.listAudit(gw.org.id, 0, 1000);
        record = records.find((r) => r.action === 'mcp.tools/call' && r.targetName === 'slow' && r.args?.includes(`"ms":${ms}`) === true);
        return record !== undefined;
      },
      5000,
      `the cancelled ${ms} ms call to be audited`,
    );
    assert.equal(record?.reason, 'request_cancelled');
    assert.equal(record.decision, 'error');
    assert.ok((record.latencyMs ?? Infinity) < 5000, `latency ${record.latencyMs ?? 'none'}`);
  }

  before(async () => {
    gw = await startGateway();
    await addAndConnect(gw, stdioFixture('fx'));
    client = await connect(gw.url, gw.ownerKey);
  });
  after(async () => {
    await client.close();
    await gw.close();
  });

  test('the SDK client receives every progress notification before the result', async () => {
    const events: string[] = [];
    const progress: Progress[] = [];
    const result = await client.callTool({ name: 'fx__slow', arguments: { ms: 300, steps: 3 } }, undefined, {
      onprogress: (p) => {
        progress.push(p);
        events.push('progress');
      },
    });
    events.push('result');
    assert.equal(firstText(result), 'done after 300ms');
    assertProgress(progress.map((p) => [p.progress, p.total, p.message]), 3);
    assert.deepEqual(events, [...progress.map(() => 'progress'), 'result']);
  });

  test('on the wire: a request with a progressToken gets text/event-stream, progress first, result last', async () => {
    const auth = { authorization: `Bearer ${gw.ownerKey}` };
    const init = await rawPost(
      gw.url,
      { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } },
      auth,
    );
    const session = init.headers.get('mcp-session-id') ?? '';
    await init.body?.cancel();
    const res = await rawPost(
      gw.url,
      { jsonrpc: '2.0', id: 'call-1', method: 'tools/call', params: { name: 'fx__slow', arguments: { ms: 300, steps: 3 }, _meta: { progressToken: 'tok-1' } } },
      { ...auth, 'mcp-session-id': session, 'mcp-protocol-version': '2025-11-25' },
    );
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.match(res.headers.get('x-correlation-id') ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const messages = sseMessages(await res.text()) as { id?: unknown; method?: string; params?: Record<string, unknown>; result?: unknown }[];
    const last = messages.pop();
    assert.equal(last?.id, 'call-1');
    assert.equal(firstText(last.result), 'done after 300ms');
    for (const m of messages) {
      assert.equal(m.method, 'notifications/progress');
      assert.equal(m.params?.progressToken, 'tok-1');
    }
    assertProgress(messages.map((m) => [m.params?.progress, m.params?.total, m.params?.message]), 3);

    // Without a progressToken the same call is plain JSON.
    const plain = await rawPost(
      gw.url,
      { jsonrpc: '2.0', id: 'call-2', method: 'tools/call', params: { name: 'fx__echo', arguments: { text: 'json please' } } },
      { ...auth, 'mcp-session-id': session },
    );
    assert.match(plain.headers.get('content-type') ?? '', /^application\/json/);
    const body = (await plain.json()) as { id: string; result: unknown };
    assert.equal(body.id, 'call-2');
    assert.equal(firstText(body.result), 'json please');
  });

  test('aborting a slow call cancels it upstream; the gateway keeps serving', async () => {
    const ac = new AbortController();
    let progressSeen = 0;
    const call = client.callTool({ name: 'fx__slow', arguments: { ms: 20_000, steps: 200 } }, undefined, {
      signal: ac.signal,
      onprogress: () => {
        progressSeen++;
      },
    });
    await waitFor(() => progressSeen >= 2, 5000, 'the slow call to report progress');
    const abortedAt = Date.now();
    ac.abort(new Error('user gave up'));
    await assert.rejects(call, /user gave up/);
    assert.ok(Date.now() - abortedAt < 1000, 'the client was not released quickly');

    // The gateway's audit record shows the call ended as cancelled, long before the 20 s it would have run.
    await assertAuditedAsCancelled(20_000);

    // Had the upstream kept running, its next progress notifications (every 100 ms) would reach the gateway's
    // upstream client for a token it no longer knows, which it logs as a transport error.
    // A notification already on its way when the cancellation went out may still land; give it a moment first.
    await new Promise((r) => setTimeout(r, 150));
    const logsBefore = gw.logs.length;
    await new Promise((r) => setTimeout(r, 500));
    const stray = gw.logs.slice(logsBefore).filter((l) => l.includes('unknown token'));
    assert.deepEqual(stray, [], 'the upstream kept sending progress after cancellation');

    const echoed = await client.callTool({ name: 'fx__echo', arguments: { text: 'still here' } });
    assert.equal(firstText(echoed), 'still here');
  });

  test('aborting a call answered as plain JSON (no progress token) cancels it too', async () => {
    const ac = new AbortController();
    const call = client.callTool({ name: 'fx__slow', arguments: { ms: 15_000, steps: 150 } }, undefined, { signal: ac.signal });
    await new Promise((r) => setTimeout(r, 300));
    const abortedAt = Date.now();
    ac.abort(new Error('changed my mind'));
    await assert.rejects(call, /changed my mind/);
    assert.ok(Date.now() - abortedAt < 1000, 'the client was not released quickly');
    await assertAuditedAsCancelled(15_000);
    const sum = (await client.callTool({ name: 'fx__add', arguments: { a: 20, b: 22 } })) as CallToolResult;
    assert.deepEqual(sum.structuredContent, { sum: 42 });
  });
});
