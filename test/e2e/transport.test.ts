// The MCP Streamable HTTP contract (2025-06-18 / 2025-11-25) as the gateway serves it: sessions, versions, limits,
// media types, Origin/Host checks and the headers every response carries. Raw fetch where the SDK would not send
// the bad input; the SDK client where it would.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createKey } from '../../src/services/keys.ts';
import { operatorActor } from '../../src/services/context.ts';
import { connect, rawPost, startGateway, type Gateway } from './harness.ts';

const INIT_PARAMS = { capabilities: {}, clientInfo: { name: 'raw-e2e', version: '1.0.0' } };

function initBody(protocolVersion: string, id: number | string = 1): unknown {
  return { jsonrpc: '2.0', id, method: 'initialize', params: { protocolVersion, ...INIT_PARAMS } };
}

/** Asserts the correlation id and the security headers that every response must carry. */
function assertCommonHeaders(res: Response | { headers: Record<string, string | string[] | undefined> }, what: string): void {
  const get = (name: string): string | undefined => {
    if (res instanceof Response) return res.headers.get(name) ?? undefined;
    const v = res.headers[name];
    return Array.isArray(v) ? v.join(', ') : v;
  };
  assert.match(get('x-correlation-id') ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, `${what}: x-correlation-id`);
  assert.equal(get('x-content-type-options'), 'nosniff', `${what}: x-content-type-options`);
  assert.equal(get('cache-control'), 'no-store', `${what}: cache-control`);
}

/** A POST whose JSON-RPC error body is returned alongside the response (body read once). */
async function postForError(url: string, body: unknown, headers: Record<string, string>): Promise<{ res: Response; error: { code: number; message: string } }> {
  const res = await rawPost(url, body, headers);
  const json = (await res.json()) as { jsonrpc: string; id: unknown; error: { code: number; message: string } };
  assert.equal(json.jsonrpc, '2.0');
  assert.equal(json.id, null);
  return { res, error: json.error };
}

function getStream(url: string, headers: Record<string, string>, signal?: AbortSignal): Promise<Response> {
  return fetch(url, { method: 'GET', headers: { accept: 'text/event-stream', ...headers }, signal });
}

/** A request through node:http, which (unlike fetch) lets the test choose the Host header. */
function nodeRequest(url: string, headers: Record<string, string>, body: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('MCP Streamable HTTP transport', () => {
  let gw: Gateway;
  let keyA: string;
  let keyB: string;
  const clients: Client[] = [];
  const auth = (key: string) => ({ authorization: `Bearer ${key}` });

  async function rawSession(key: string, version = '2025-11-25'): Promise<string> {
    const res = await rawPost(gw.url, initBody(version), auth(key));
    assert.equal(res.status, 200);
    await res.body?.cancel();
    const id = res.headers.get('mcp-session-id');
    assert.ok(id !== null);
    return id;
  }

  before(async () => {
    gw = await startGateway();
    keyA = (await createKey(gw.app.services, operatorActor('test'), { orgId: gw.org.id, name: 'key-a', scopes: ['*'] })).key;
    keyB = (await createKey(gw.app.services, operatorActor('test'), { orgId: gw.org.id, name: 'key-b', scopes: ['*'] })).key;
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await gw.close();
  });

  test('initialize returns a session id and negotiates the protocol version', async () => {
    for (const [asked, expected] of [
      ['2025-06-18', '2025-06-18'],
      ['2025-03-26', '2025-03-26'],
      ['2025-11-25', '2025-11-25'],
      ['1999-01-01', '2025-11-25'],
    ] as const) {
      const res = await rawPost(gw.url, initBody(asked, `init-${asked}`), auth(keyA));
      assert.equal(res.status, 200, asked);
      assertCommonHeaders(res, `initialize ${asked}`);
      const session = res.headers.get('mcp-session-id') ?? '';
      assert.ok(session.length >= 32, `session id too short: ${session}`);
      assert.match(session, /^[\x21-\x7e]+$/);
      const body = (await res.json()) as { id: string; result: { protocolVersion: string; serverInfo: { name: string } } };
      assert.equal(body.id, `init-${asked}`);
      assert.equal(body.result.protocolVersion, expected, `asked ${asked}`);
      assert.equal(body.result.serverInfo.name, 'gatehouse');
    }
  });

  test('session and version errors: unsupported header 400, no session 400, unknown session 404', async () => {
    const session = await rawSession(keyA, '2025-06-18');
    const ping = { jsonrpc: '2.0', id: 7, method: 'ping' };
    const ok = await rawPost(gw.url, ping, { ...auth(keyA), 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' });
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { jsonrpc: '2.0', id: 7, result: {} });

    const badVersion = await postForError(gw.url, ping, { ...auth(keyA), 'mcp-session-id': session, 'mcp-protocol-version': '2099-01-01' });
    assert.equal(badVersion.res.status, 400);
    assert.equal(badVersion.error.code, -32600);
    assertCommonHeaders(badVersion.res, 'unsupported version');

    const noSession = await postForError(gw.url, ping, auth(keyA));
    assert.equal(noSession.res.status, 400);
    assertCommonHeaders(noSession.res, 'no session');

    const unknown = await postForError(gw.url, ping, { ...auth(keyA), 'mcp-session-id': 'x'.repeat(43) });
    assert.equal(unknown.res.status, 404);
    assertCommonHeaders(unknown.res, 'unknown session');
  });

  test("a session belongs to the key that created it: another key of the org gets 404", async () => {
    const clientA = await connect(gw.url, keyA, 'owner-of-session');
    clients.push(clientA);
    const sessionA = (clientA.transport as StreamableHTTPClientTransport).sessionId;
    assert.ok(sessionA !== undefined);

    const foreign = await postForError(gw.url, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, { ...auth(keyB), 'mcp-session-id': sessionA });
    assert.equal(foreign.res.status, 404);
    assert.equal(foreign.error.code, -32004);

    // The official client for key B, told to reuse A's session, cannot use it either.
    const clientB = new Client({ name: 'hijacker', version: '1.0.0' });
    clients.push(clientB);
    await clientB.connect(new StreamableHTTPClientTransport(new URL(gw.url), { sessionId: sessionA, requestInit: { headers: auth(keyB) } }));
    await assert.rejects(clientB.listTools(), (e: unknown) => e instanceof StreamableHTTPError && e.code === 404 && /Session not found/.test(e.message));

    const stillMine = await clientA.listTools();
    assert.ok(Array.isArray(stillMine.tools));
    const audit = await gw.app.services.store.listAudit(gw.org.id, 0, 1000);
    assert.ok(audit.some((r) => r.action === 'mcp.tools/list.foreign_session' && r.decision === 'deny'));
  });

  test('a notification is accepted with 202 and an empty body', async () => {
    const session = await rawSession(keyA);
    const res = await rawPost(gw.url, { jsonrpc: '2.0', method: 'notifications/initialized' }, { ...auth(keyA), 'mcp-session-id': session });
    assert.equal(res.status, 202);
    assert.equal(await res.text(), '');
    assertCommonHeaders(res, 'notification');
  });

  test('batches, malformed JSON and over-deep JSON are refused with 400', async () => {
    const session = await rawSession(keyA);
    const headers = { ...auth(keyA), 'mcp-session-id': session };
    const batch = await postForError(gw.url, [{ jsonrpc: '2.0', id: 1, method: 'ping' }, { jsonrpc: '2.0', id: 2, method: 'ping' }], headers);
    assert.equal(batch.res.status, 400);
    assert.equal(batch.error.code, -32600);
    assert.match(batch.error.message, /batch/i);

    const malformed = await postForError(gw.url, '{"jsonrpc":"2.0","id":1,"method":', headers);
    assert.equal(malformed.res.status, 400);
    assert.equal(malformed.error.code, -32700);
    assertCommonHeaders(malformed.res, 'parse error');

    const deep = '{"jsonrpc":"2.0","id":1,"method":"ping","params":{"a":' + '['.repeat(200) + ']'.repeat(200) + '}}';
    const tooDeep = await postForError(gw.url, deep, headers);
    assert.equal(tooDeep.res.status, 400);
    assert.equal(tooDeep.error.code, -32600);
    assert.match(tooDeep.error.message, /deep/i);
  });

  test('wrong media types: 415 for Content-Type, 406 for Accept on POST and GET', async () => {
    const session = await rawSession(keyA);
    const ping = { jsonrpc: '2.0', id: 1, method: 'ping' };
    const wrongType = await postForError(gw.url, ping, { ...auth(keyA), 'mcp-session-id': session, 'content-type': 'text/plain' });
    assert.equal(wrongType.res.status, 415);
    assertCommonHeaders(wrongType.res, '415');

    const noSse = await postForError(gw.url, ping, { ...auth(keyA), 'mcp-session-id': session, accept: 'application/json' });
    assert.equal(noSse.res.status, 406);

    const getJson = await fetch(gw.url, { method: 'GET', headers: { ...auth(keyA), 'mcp-session-id': session, accept: 'application/json' } });
    assert.equal(getJson.status, 406);
    assertCommonHeaders(getJson, 'GET 406');
    await getJson.body?.cancel();
  });

  test('Origin and Host checks: foreign origin 403, loopback origin allowed, foreign Host 403', async () => {
    const init = initBody('2025-11-25');
    const evil = await postForError(gw.url, init, { ...auth(keyA), origin: 'http://evil.example' });
    assert.equal(evil.res.status, 403);
    assertCommonHeaders(evil.res, 'origin 403');

    const local = await rawPost(gw.url, init, { ...auth(keyA), origin: 'http://localhost:1234' });
    assert.equal(local.status, 200);
    assert.equal(local.headers.get('access-control-allow-origin'), 'http://localhost:1234');
    assert.ok((local.headers.get('mcp-session-id') ?? '').length >= 32);
    await local.body?.cancel();

    const base = { ...auth(keyA), 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const evilHost = await nodeRequest(gw.url, { ...base, host: 'evil.example' }, JSON.stringify(init));
    assert.equal(evilHost.status, 403);
    assertCommonHeaders(evilHost, 'host 403');
    assert.equal((JSON.parse(evilHost.body) as { error: { code: number } }).error.code, -32003);

    const goodHost = await nodeRequest(gw.url, { ...base, host: `localhost:${new URL(gw.url).port}` }, JSON.stringify(init));
    assert.equal(goodHost.status, 200);
  });

  test('DELETE ends the session; the id is then unknown', async () => {
    const session = await rawSession(keyA);
    const headers = { ...auth(keyA), 'mcp-session-id': session };
    const del = await fetch(gw.url, { method: 'DELETE', headers });
    assert.equal(del.status, 200);
    assertCommonHeaders(del, 'DELETE');
    await del.body?.cancel();
    const after = await postForError(gw.url, { jsonrpc: '2.0', id: 1, method: 'ping' }, headers);
    assert.equal(after.res.status, 404);
    const again = await fetch(gw.url, { method: 'DELETE', headers });
    assert.equal(again.status, 404);
    await again.body?.cancel();
  });

  test('GET opens the session stream; a second GET on the same session gets 409', async () => {
    const session = await rawSession(keyA);
    const headers = { ...auth(keyA), 'mcp-session-id': session };
    const ac = new AbortController();
    const first = await getStream(gw.url, headers, ac.signal);
    try {
      assert.equal(first.status, 200);
      assert.match(first.headers.get('content-type') ?? '', /^text\/event-stream/);
      assert.equal(first.headers.get('mcp-session-id'), session);
      assertCommonHeaders(first, 'GET stream');
      const second = await getStream(gw.url, headers);
      assert.equal(second.status, 409);
      assertCommonHeaders(second, 'GET 409');
      await second.body?.cancel();
    } finally {
      ac.abort();
    }
  });

  test('401 responses carry the correlation id and security headers too', async () => {
    const res = await rawPost(gw.url, initBody('2025-11-25'), {});
    assert.equal(res.status, 401);
    assertCommonHeaders(res, '401');
    await res.body?.cancel();
  });

  test('/healthz and /readyz answer 200; an unknown path is a JSON 404', async () => {
    const base = new URL(gw.url).origin;
    const health = await fetch(`${base}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: 'ok' });
    assertCommonHeaders(health, 'healthz');
    const ready = await fetch(`${base}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: 'ready' });
    const missing = await fetch(`${base}/no-such-path`);
    assert.equal(missing.status, 404);
    assert.match(missing.headers.get('content-type') ?? '', /^application\/json/);
    assertCommonHeaders(missing, 'unknown path');
    const body = (await missing.json()) as { error: { code: number; message: string } };
    assert.equal(body.error.code, -32004);
  });
});

describe('MCP Streamable HTTP transport: body size limit', () => {
  let gw: Gateway;
  before(async () => {
    gw = await startGateway({ GATEHOUSE_MAX_BODY_BYTES: '2048' });
  });
  after(async () => {
    await gw.close();
  });

  test('a body over GATEHOUSE_MAX_BODY_BYTES gets 413', async () => {
    const headers = { authorization: `Bearer ${gw.ownerKey}` };
    const small = await rawPost(gw.url, initBody('2025-11-25'), headers);
    assert.equal(small.status, 200);
    await small.body?.cancel();
    const big = { ...(initBody('2025-11-25') as object), padding: 'x'.repeat(4096) };
    const res = await rawPost(gw.url, big, headers);
    assert.equal(res.status, 413);
    assertCommonHeaders(res, '413');
    const body = (await res.json()) as { error: { code: number } };
    assert.equal(body.error.code, -32600);
    // The refusal is attributed: it is audited under the caller's organisation with its correlation id.
    const records = await gw.app.services.store.listAudit(gw.org.id, 0, 1000);
    const record = records.find((r) => r.correlationId === res.headers.get('x-correlation-id'));
    assert.equal(record?.decision, 'deny');
    assert.equal(record.reason, 'payload_too_large');
  });

  test('a streamed (chunked) body that grows over the limit still gets its 413 before the connection closes', async () => {
    const result = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(
        gw.url,
        {
          method: 'POST',
          headers: { authorization: `Bearer ${gw.ownerKey}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'transfer-encoding': 'chunked' },
        },
        (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => {
            resolve({ status: res.statusCode ?? 0, body: text });
          });
        },
      );
      req.on('error', reject);
      req.write('{"jsonrpc":"2.0","id":1,"method":"ping","params":{"p":"' + 'x'.repeat(3000));
      setTimeout(() => {
        req.end('x'.repeat(100_000) + '"}}');
      }, 50);
    });
    assert.equal(result.status, 413);
    assert.match(result.body, /Request body too large/);
  });
});
