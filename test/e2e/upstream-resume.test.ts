// SSE polling (MCP 2025-11-25, SEP-1699) against the conformance fixture over HTTP: its `test_reconnection` tool
// closes the reply stream mid-call, and the answer only arrives on a GET with Last-Event-ID.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { HttpClientTransport } from '../../src/gateway/upstream/http-transport.ts';
import { addAndConnect, connect, httpConnector, NODE, ROOT, startGateway, stop, type Gateway, type UpstreamProcess } from './harness.ts';

const CONFORMANCE = join(ROOT, 'test/fixtures/conformance-server.ts');
const DONE = 'Reconnection test completed successfully';
/** The fixture's `retry` hint: an answer that came through a resume cannot come sooner. */
const FIXTURE_RETRY_MS = 500;

function startConformanceHttp(): Promise<UpstreamProcess> {
  const child = spawn(NODE, [CONFORMANCE, '--http', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('the conformance fixture did not start'));
    }, 15_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^LISTENING (\S+)/m.exec(out);
      if (m?.[1] === undefined) return;
      clearTimeout(timer);
      const url = m[1];
      resolve({ url, child, close: () => stop(child) });
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the conformance fixture exited with ${code ?? 'a signal'}`));
    });
  });
}

function firstText(result: unknown): string {
  const block = (result as CallToolResult).content[0];
  assert.ok(block?.type === 'text', 'expected a text block');
  return block.text;
}

describe('upstream SSE polling: a reply stream closed mid-call resumes', () => {
  let upstream: UpstreamProcess;
  let client: Client;
  const errors: string[] = [];

  before(async () => {
    upstream = await startConformanceHttp();
    client = new Client({ name: 'resume-e2e', version: '1.0.0' }, { capabilities: {} });
    client.onerror = (err) => errors.push(err.message);
    await client.connect(new HttpClientTransport(new URL(upstream.url), {}));
  });
  after(async () => {
    await client.close();
    await upstream.close();
  });

  test('test_reconnection over HttpClientTransport returns its result', async () => {
    const started = Date.now();
    const result = await client.callTool({ name: 'test_reconnection', arguments: {} });
    assert.equal(firstText(result), DONE);
    assert.ok(Date.now() - started >= FIXTURE_RETRY_MS - 50, 'answered before the retry delay: the stream was not closed?');
    assert.deepEqual(errors, []);
  });

  test('concurrent calls each resume their own stream, and ordinary calls still work meanwhile', async () => {
    const calls = [0, 1, 2].map(() => client.callTool({ name: 'test_reconnection', arguments: {} }));
    const simple = await client.callTool({ name: 'test_simple_text', arguments: {} });
    assert.equal(firstText(simple), 'This is a simple text response for testing.');
    for (const result of await Promise.all(calls)) assert.equal(firstText(result), DONE);
    assert.deepEqual(errors, []);
  });
});

describe('upstream SSE polling through the gateway', () => {
  let gw: Gateway;
  let upstream: UpstreamProcess;
  let client: Client;

  before(async () => {
    gw = await startGateway();
    upstream = await startConformanceHttp();
    await addAndConnect(gw, httpConnector('conf', upstream.url));
    client = await connect(gw.url, gw.ownerKey);
  });
  after(async () => {
    await client.close();
    await gw.close();
    await upstream.close();
  });

  test('a client of the gateway gets the answer of a call whose upstream stream was closed mid-call', async () => {
    const started = Date.now();
    const result = await client.callTool({ name: 'conf__test_reconnection', arguments: {} });
    assert.equal(firstText(result), DONE);
    assert.ok(Date.now() - started >= FIXTURE_RETRY_MS - 50, 'answered before the retry delay: the stream was not closed?');
  });
});
