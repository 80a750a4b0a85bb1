// HttpClientTransport against scripted loopback upstreams: how a reply stream the upstream closes early resumes
// (SSE polling, MCP 2025-11-25) and when it must not.
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ErrorCode, McpError, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { HttpClientTransport } from './http-transport.ts';

interface Rpc {
  readonly id?: string | number;
  readonly method?: string;
}

interface Upstream {
  readonly url: string;
  /** Every request the upstream saw, in order. */
  readonly seen: { readonly method: string; readonly headers: IncomingHttpHeaders; readonly rpc?: Rpc }[];
  close(): Promise<void>;
}

interface Script {
  /** Answers a tools/call POST. */
  readonly call: (res: ServerResponse, rpc: Rpc) => void;
  /** Answers a GET with Last-Event-ID; 405 unless given. */
  readonly resume?: (req: IncomingMessage, res: ServerResponse) => void;
  /** Answers a GET without one (the server stream); 405 unless given. */
  readonly stream?: (res: ServerResponse) => void;
  readonly session?: (rpc: Rpc) => string;
}

const INIT = { protocolVersion: '2025-11-25', capabilities: { tools: {} }, serverInfo: { name: 'scripted', version: '1.0.0' } };
const AUTH = { authorization: 'Bearer upstream-secret' };
const open: { close(): Promise<unknown> }[] = [];

function result(id: string | number | undefined, text: string): string {
  return JSON.stringify({ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text }] } });
}

function sse(res: ServerResponse, events: string[], end = true): void {
  if (!res.headersSent) res.writeHead(200, { 'content-type': 'text/event-stream' });
  for (const e of events) res.write(`${e}\n\n`);
  if (end) res.end();
}

/** A minimal MCP upstream whose tools/call and GET answers the test writes. */
async function startUpstream(script: Script): Promise<Upstream> {
  const seen: Upstream['seen'][number][] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rpc = chunks.length === 0 ? undefined : (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Rpc);
      seen.push({ method: req.method ?? '', headers: req.headers, ...(rpc === undefined ? {} : { rpc }) });
      if (req.method === 'GET') {
        if (req.headers['last-event-id'] !== undefined && script.resume !== undefined) script.resume(req, res);
        else if (req.headers['last-event-id'] === undefined && script.stream !== undefined) script.stream(res);
        else res.writeHead(405).end();
        return;
      }
      if (req.method !== 'POST' || rpc === undefined) {
        res.writeHead(200).end();
        return;
      }
      const headers = { 'content-type': 'application/json', 'mcp-session-id': script.session?.(rpc) ?? 'session-a' };
      if (rpc.method === 'initialize') res.writeHead(200, headers).end(JSON.stringify({ jsonrpc: '2.0', id: rpc.id, result: INIT }));
      else if (rpc.method === 'tools/call') script.call(res, rpc);
      else if (rpc.id === undefined) res.writeHead(202).end();
      else res.writeHead(200, headers).end(JSON.stringify({ jsonrpc: '2.0', id: rpc.id, result: {} }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const upstream: Upstream = {
    url: `http://127.0.0.1:${port}/mcp`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
  open.push(upstream);
  return upstream;
}

async function connectTo(upstream: Upstream, setup?: (client: Client) => void): Promise<{ client: Client; errors: string[] }> {
  const client = new Client({ name: 'transport-test', version: '1.0.0' }, { capabilities: {} });
  const errors: string[] = [];
  client.onerror = (err) => errors.push(err.message);
  setup?.(client);
  await client.connect(new HttpClientTransport(new URL(upstream.url), AUTH));
  open.unshift(client);
  return { client, errors };
}

async function callFails(client: Client): Promise<McpError> {
  const err = await client.callTool({ name: 'work', arguments: {} }).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof McpError, `expected an McpError, got ${String(err)}`);
  return err;
}

function resumes(upstream: Upstream): Upstream['seen'] {
  return upstream.seen.filter((s) => s.method === 'GET' && s.headers['last-event-id'] !== undefined);
}

afterEach(async () => {
  for (const o of open.splice(0)) await o.close();
});

describe('HttpClientTransport: reply streams closed before the answer', () => {
  test('a primed stream resumes on GET with Last-Event-ID after the retry delay, with the same credentials', async () => {
    let calls = 0;
    const upstream = await startUpstream({
      call: (res) => {
        calls++;
        sse(res, ['id: s1-1\nretry: 200\ndata:']);
      },
      resume: (_req, res) => {
        sse(res, [`id: s1-2\ndata: ${result(1, 'resumed')}`], false); // left open, as the SDK's server does
      },
    });
    const { client, errors } = await connectTo(upstream);
    const started = Date.now();
    const r = (await client.callTool({ name: 'work', arguments: {} })) as CallToolResult;
    assert.deepEqual(r.content, [{ type: 'text', text: 'resumed' }]);
    assert.ok(Date.now() - started >= 190, 'the retry delay was not respected');
    assert.equal(calls, 1);
    const [resume] = resumes(upstream);
    assert.equal(resume?.headers['last-event-id'], 's1-1');
    assert.equal(resume.headers.authorization, AUTH.authorization);
    assert.equal(resume.headers['mcp-session-id'], 'session-a');
    assert.equal(resume.headers['mcp-protocol-version'], '2025-11-25');
    assert.deepEqual(errors, []);
  });

  test('polling: each reconnection resumes from the newest event id', async () => {
    let gets = 0;
    const upstream = await startUpstream({
      call: (res) => {
        sse(res, ['id: p-1\nretry: 100\ndata:']);
      },
      resume: (_req, res) => {
        gets++;
        if (gets < 3) sse(res, [`id: p-${gets + 1}\ndata:`]);
        else sse(res, [`id: p-4\ndata: ${result(1, 'polled')}`]);
      },
    });
    const { client } = await connectTo(upstream);
    const r = (await client.callTool({ name: 'work', arguments: {} })) as CallToolResult;
    assert.deepEqual(r.content, [{ type: 'text', text: 'polled' }]);
    assert.deepEqual(
      resumes(upstream).map((s) => s.headers['last-event-id']),
      ['p-1', 'p-2', 'p-3'],
    );
  });

  test('a stream that closes without any event id fails its call with ConnectionClosed at once', async () => {
    const upstream = await startUpstream({
      call: (res) => {
        sse(res, ['data: {"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"x"}}']);
      },
      resume: (_req, res) => res.writeHead(500).end(),
    });
    const { client } = await connectTo(upstream);
    const started = Date.now();
    const err = await callFails(client);
    assert.equal(err.code, ErrorCode.ConnectionClosed);
    assert.ok(Date.now() - started < 900, 'the call waited for a reconnection that cannot help');
    assert.deepEqual(resumes(upstream), []);
  });

  test('an upstream that answers 405 to the resume fails the call at once', async () => {
    const upstream = await startUpstream({ call: (res) => { sse(res, ['id: x-1\nretry: 100\ndata:']); } });
    const { client } = await connectTo(upstream);
    assert.equal((await callFails(client)).code, ErrorCode.ConnectionClosed);
    assert.equal(resumes(upstream).length, 1);
  });

  test('a redirect on resume is not followed', async () => {
    const elsewhere = await startUpstream({ call: () => undefined });
    const upstream = await startUpstream({
      call: (res) => {
      sse(res, ['id: r-1\nretry: 100\ndata:']);
    },
      resume: (_req, res) => res.writeHead(307, { location: elsewhere.url }).end(),
    });
    const { client } = await connectTo(upstream);
    assert.equal((await callFails(client)).code, ErrorCode.ConnectionClosed);
    assert.deepEqual(elsewhere.seen, []);
  });

  test('a resume that keeps failing gives up after a bounded number of attempts', async () => {
    const upstream = await startUpstream({
      call: (res) => {
      sse(res, ['id: f-1\nretry: 100\ndata:']);
    },
      resume: (_req, res) => res.writeHead(503).end(),
    });
    const { client } = await connectTo(upstream);
    assert.equal((await callFails(client)).code, ErrorCode.ConnectionClosed);
    assert.equal(resumes(upstream).length, 4);
  });

  test('an upstream that stopped listening fails the call without waiting out the retries', async () => {
    const stopped: { upstream?: Upstream } = {};
    const upstream = await startUpstream({
      call: (res) => {
        res.on('finish', () => void stopped.upstream?.close());
        sse(res, ['id: g-1\nretry: 100\ndata:']);
      },
    });
    stopped.upstream = upstream;
    const { client } = await connectTo(upstream);
    const started = Date.now();
    assert.equal((await callFails(client)).code, ErrorCode.ConnectionClosed);
    assert.ok(Date.now() - started < 1000, 'a refused reconnection was retried');
  });

  test('a call the client gives up stops its resume', async () => {
    let resumed: IncomingMessage | undefined;
    const upstream = await startUpstream({
      call: (res) => {
      sse(res, ['id: c-1\nretry: 100\ndata:']);
    },
      resume: (req, res) => {
        resumed = req;
        sse(res, [': waiting'], false);
      },
    });
    const { client } = await connectTo(upstream);
    const err = await client.callTool({ name: 'work', arguments: {} }, undefined, { timeout: 400 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof McpError);
    assert.equal(err.code, ErrorCode.RequestTimeout);
    assert.ok(resumed !== undefined, 'the stream never resumed');
    const gone = resumed;
    await new Promise<void>((resolve) => {
      if (gone.socket.destroyed) resolve();
      else gone.socket.once('close', resolve);
    });
    assert.equal(resumes(upstream).length, 1);
  });

  test('an event id is never sent in another session', async () => {
    let session = 'session-a';
    const upstream = await startUpstream({
      session: () => session,
      call: (res) => {
        sse(res, ['id: a-1\nretry: 300\ndata:']);
      },
    });
    const { client } = await connectTo(upstream);
    const failed = callFails(client);
    await new Promise((r) => setTimeout(r, 50));
    session = 'session-b'; // the upstream now hands out another session
    await client.ping();
    assert.equal((await failed).code, ErrorCode.ConnectionClosed);
    assert.deepEqual(resumes(upstream), []);
  });
});

describe('HttpClientTransport: the server stream', () => {
  test('a dropped server stream resumes with Last-Event-ID and misses nothing', async () => {
    const notice = (n: number) => `data: ${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/custom', params: { n } })}`;
    const upstream = await startUpstream({
      call: () => undefined,
      stream: (res) => {
        sse(res, ['retry: 100', `id: g-1\n${notice(1)}`]);
      },
      resume: (_req, res) => {
        sse(res, [`id: g-2\n${notice(2)}`], false);
      },
    });
    const received: unknown[] = [];
    await connectTo(upstream, (client) => {
      client.fallbackNotificationHandler = (n) => {
        received.push(n.params?.n);
        return Promise.resolve();
      };
    });
    const deadline = Date.now() + 5000;
    while (received.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(received, [1, 2]);
    const gotten = upstream.seen.filter((s) => s.method === 'GET');
    assert.equal(gotten[0]?.headers['last-event-id'], undefined);
    assert.equal(gotten[1]?.headers['last-event-id'], 'g-1');
    assert.equal(gotten[1].headers.authorization, AUTH.authorization);
  });
  test('a stateless upstream that answers the server stream GET with 404 (only a POST route) stays connected', async () => {
    const upstream = await startUpstream({
      call: (res, rpc) => res.writeHead(200, { 'content-type': 'application/json' }).end(result(rpc.id, 'ok')),
      stream: (res) => res.writeHead(404).end('Cannot GET /mcp'),
      session: () => '',
    });
    let closed = false;
    const { client } = await connectTo(upstream, (c) => {
      c.onclose = () => {
        closed = true;
      };
    });
    await new Promise((r) => setTimeout(r, 100));
    const answer = (await client.callTool({ name: 'work', arguments: {} })) as CallToolResult;
    assert.deepEqual(answer.content, [{ type: 'text', text: 'ok' }]);
    assert.equal(closed, false, 'a 404 without a session is "no server stream", not a lost upstream');
  });

  test('the connection is made only once the upstream answered the server stream GET (nothing sent on it is lost)', async () => {
    const upstream = await startUpstream({ call: () => undefined, stream: (res) => setTimeout(() => { sse(res, [': open'], false); }, 150) });
    await connectTo(upstream);
    assert.ok(upstream.seen.some((s) => s.method === 'GET'), 'the GET was sent before connecting finished');
  });
});

test('a kept-alive socket the upstream resets as it is reused is replaced, and the connection lives on', async () => {
  const perSocket = new WeakMap<object, number>();
  let resets = 0;
  const server = createServer((req, res) => {
    const n = (perSocket.get(req.socket) ?? 0) + 1;
    perSocket.set(req.socket, n);
    // The second request on a socket: the upstream drops it unread, as one whose idle timeout just ran out would.
    if (n === 2 && resets === 0) {
      resets++;
      req.socket.destroy();
      return;
    }
    req.resume();
    req.on('end', () => res.writeHead(202).end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = new URL(`http://127.0.0.1:${String((server.address() as AddressInfo).port)}/mcp`);
  const transport = new HttpClientTransport(url, {});
  let closed = false;
  transport.onclose = () => {
    closed = true;
  };
  try {
    await transport.send({ jsonrpc: '2.0', method: 'notifications/one' });
    await transport.send({ jsonrpc: '2.0', method: 'notifications/two' });
    await transport.send({ jsonrpc: '2.0', method: 'notifications/three' });
    assert.equal(resets, 1, 'the reset happened');
    assert.equal(closed, false, 'one reset socket is not a lost upstream');
  } finally {
    await transport.close();
    server.close();
  }
});
