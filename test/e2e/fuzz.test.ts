// A bounded fuzz pass (fast-check) over the real gateway: JSON-RPC envelopes, ids, methods, params, batches and
// headers at /mcp in every protocol revision (sessions of each, and stateless 2026-07-28 requests), then the admin
// API's request bodies. Whatever arrives, the process keeps serving, no answer is a 5xx that shows internals (a
// stack, SQL, a path), and every audit chain verifies afterwards.
//
// The seed is new each run and printed; replay a failure with GATEHOUSE_FUZZ_SEED=<seed> (and GATEHOUSE_FUZZ_RUNS to
// change the number of cases, 1600 JSON-RPC and 400 admin by default: about a minute on two busy cores).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { SYSTEM_CHAIN } from '../../src/gateway/audit/audit-log.ts';
import { verifyChain } from '../../src/gateway/audit/verify.ts';
import { SERVED_PROTOCOL_VERSIONS } from '../../src/gateway/protocol.ts';
import { apiBase } from './admin-client.ts';
import { addAndConnect, startGateway, stdioFixture, type Gateway } from './harness.ts';

const SEED = process.env.GATEHOUSE_FUZZ_SEED === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.GATEHOUSE_FUZZ_SEED);
const RPC_RUNS = Number(process.env.GATEHOUSE_FUZZ_RUNS ?? 1600);
const ADMIN_RUNS = Math.max(1, Math.round(RPC_RUNS / 4));
console.log(`fuzz seed ${String(SEED)} (replay: GATEHOUSE_FUZZ_SEED=${String(SEED)})`);

/** What no answer may carry: stack frames, source paths, SQL and driver errors, JavaScript error names. */
const INTERNALS = /\n\s+at |node:internal|\/work\/|\/tmp\/|\.ts:\d+|\bSQLITE_|syntax error at or near|\bSELECT\b|\bINSERT INTO\b|TypeError|ReferenceError|RangeError|Cannot read prop/;

interface Answer {
  readonly status: number;
  readonly text: string;
}

async function send(url: string, method: string, headers: Record<string, string>, body: string | undefined): Promise<Answer> {
  const res = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(20_000) });
  return { status: res.status, text: await res.text() };
}

function check(a: Answer, what: string): void {
  assert.ok(a.status !== 500, `${what}: HTTP 500 ${a.text.slice(0, 300)}`);
  assert.doesNotMatch(a.text, INTERNALS, `${what}: internals in HTTP ${String(a.status)}: ${a.text.slice(0, 300)}`);
}

const KNOWN_METHODS = [
  'initialize', 'ping', 'server/discover', 'tools/list', 'tools/call', 'prompts/list', 'prompts/get', 'resources/list', 'resources/read',
  'resources/templates/list', 'resources/subscribe', 'resources/unsubscribe', 'completion/complete', 'logging/setLevel',
  'notifications/initialized', 'notifications/cancelled', 'notifications/roots/list_changed', 'sampling/createMessage',
];
const TOOLS = ['fx__echo', 'fx__add', 'fx__echo_secret_field', 'nope__echo', 'fx__', '__', ''];

const text = fc.string({ maxLength: 40, unit: 'grapheme' });
const id = fc.oneof({ weight: 6, arbitrary: fc.nat() }, fc.string({ maxLength: 20 }), fc.constant(null), fc.double(), fc.boolean(), fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 2 }), fc.constant(2 ** 60));
const method = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...KNOWN_METHODS) }, { weight: 1, arbitrary: text });
const toolCall = fc.record(
  { name: fc.oneof(fc.constantFrom(...TOOLS), text), arguments: fc.oneof(fc.record({ text: fc.oneof(text, fc.integer()) }, { requiredKeys: [] }), fc.record({ a: fc.integer(), b: fc.double() }), fc.jsonValue({ maxDepth: 3 })), _meta: fc.option(fc.jsonValue({ maxDepth: 2 }), { nil: undefined }) },
  { requiredKeys: ['name'] },
);
const params = fc.oneof(
  toolCall,
  fc.record({ uri: fc.oneof(text, fc.webUrl(), fc.constant('fixture://greeting')) }),
  fc.record({ protocolVersion: fc.oneof(fc.constantFrom(...SERVED_PROTOCOL_VERSIONS), text), capabilities: fc.jsonValue({ maxDepth: 2 }), clientInfo: fc.jsonValue({ maxDepth: 2 }) }, { requiredKeys: [] }),
  fc.record({ level: fc.oneof(fc.constantFrom('debug', 'info', 'error'), text) }),
  fc.record({ ref: fc.jsonValue({ maxDepth: 2 }), argument: fc.jsonValue({ maxDepth: 2 }) }, { requiredKeys: [] }),
  fc.jsonValue({ maxDepth: 4 }),
);
const message = fc.record(
  { jsonrpc: fc.oneof({ weight: 8, arbitrary: fc.constant('2.0') }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) }), id, method, params, result: fc.jsonValue({ maxDepth: 2 }), error: fc.jsonValue({ maxDepth: 2 }) },
  { requiredKeys: ['jsonrpc', 'method'] },
);
const body = fc.oneof(
  { weight: 8, arbitrary: message.map((m) => JSON.stringify(m)) },
  { weight: 2, arbitrary: fc.array(message, { maxLength: 6 }).map((b) => JSON.stringify(b)) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 5 }).map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 200 }).map((n) => '['.repeat(n) + ']'.repeat(n)) },
);
/** Mostly the value a client sends, sometimes one of the others: most cases get past the transport's checks. */
function mostly<T>(good: T, ...others: T[]): fc.Arbitrary<T> {
  return fc.oneof({ weight: 6, arbitrary: fc.constant(good) }, { weight: 1, arbitrary: fc.constantFrom(...others) });
}

/** Header values fetch can send (visible ASCII), so every case reaches the gateway. */
const headerValue = fc.string({ maxLength: 60, unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) }).map((s) => s.trim());

describe('fuzz: the JSON-RPC endpoint and the admin API', { timeout: 240_000 }, () => {
  let gw: Gateway;
  const sessions = new Map<string, string>();
  before(async () => {
    // No name resolves: a fuzzed connector URL is refused by egress at once instead of asking DNS.
    gw = await startGateway({ GATEHOUSE_MAX_SESSIONS_PER_KEY: '100000', GATEHOUSE_UPSTREAM_TIMEOUT_MS: '3000' }, {
      resolver: () => Promise.reject(new Error('the fuzz pass resolves no names')),
    });
    await addAndConnect(gw, stdioFixture('fx'));
    for (const version of SERVED_PROTOCOL_VERSIONS) {
      if (version.startsWith('2026')) continue;
      const res = await fetch(gw.url, {
        method: 'POST',
        headers: { authorization: `Bearer ${gw.ownerKey}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: version, capabilities: {}, clientInfo: { name: 'fuzz', version: '1' } } }),
      });
      await res.text();
      const sid = res.headers.get('mcp-session-id');
      assert.ok(sid !== null, `a session of ${version}`);
      sessions.set(version, sid);
      await send(gw.url, 'POST', { authorization: `Bearer ${gw.ownerKey}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': sid, 'mcp-protocol-version': version }, JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
    }
  });
  after(async () => {
    await gw.close();
  });

  test(`JSON-RPC at /mcp: ${String(RPC_RUNS)} cases`, async () => {
    const revision = fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...SERVED_PROTOCOL_VERSIONS) }, { weight: 1, arbitrary: fc.constantFrom('none', '1999-01-01') });
    const headers = fc.record({
      revision,
      session: mostly('own', 'none', 'bogus', 'other'),
      auth: mostly('owner', 'none', 'bogus', 'basic'),
      contentType: mostly('application/json', 'application/json; charset=utf-8', 'text/plain', 'none'),
      accept: mostly('application/json, text/event-stream', 'application/json', 'text/event-stream', '*/*', 'none'),
      httpMethod: mostly('POST', 'GET', 'DELETE', 'PUT'),
      path: mostly('/mcp', '/servers/none/mcp', '/servers/Bad_Name/mcp'),
      extra: fc.oneof(
        { weight: 3, arbitrary: fc.constant({}) },
        { weight: 1, arbitrary: fc.dictionary(fc.constantFrom('idempotency-key', 'mcp-method', 'mcp-name', 'mcp-param-text', 'last-event-id', 'x-forwarded-for', 'origin'), headerValue, { maxKeys: 3 }) },
      ),
    });
    const base = gw.url.replace(/\/mcp$/, '');
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(headers, body, async (h, b) => {
        const sent: Record<string, string> = { ...h.extra };
        if (h.auth === 'owner') sent.authorization = `Bearer ${gw.ownerKey}`;
        else if (h.auth === 'bogus') sent.authorization = `Bearer gh_${'x'.repeat(40)}`;
        else if (h.auth === 'basic') sent.authorization = 'Basic dXNlcjpwYXNz';
        if (h.contentType !== 'none') sent['content-type'] = h.contentType;
        if (h.accept !== 'none') sent.accept = h.accept;
        if (h.revision !== 'none') sent['mcp-protocol-version'] = h.revision;
        const own = sessions.get(h.revision) ?? sessions.get('2025-06-18');
        if (h.session === 'own' && own !== undefined && !h.revision.startsWith('2026')) sent['mcp-session-id'] = own;
        else if (h.session === 'bogus') sent['mcp-session-id'] = 'not-a-session';
        else if (h.session === 'other') sent['mcp-session-id'] = [...sessions.values()][0] ?? 'x';
        // A GET opens a stream that stays open: ask for it, read the head, let it go.
        if (h.httpMethod === 'GET') {
          const ctl = new AbortController();
          const res = await fetch(base + h.path, { method: 'GET', headers: sent, signal: ctl.signal });
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          if (res.headers.get('content-type')?.startsWith('text/event-stream') !== true) check({ status: res.status, text: await res.text() }, `GET ${JSON.stringify(sent)}`);
          ctl.abort();
          return;
        }
        if (h.httpMethod === 'DELETE' && sent['mcp-session-id'] !== undefined && sent['mcp-session-id'] !== 'not-a-session') return; // keep the sessions the pass runs in
        const a = await send(base + h.path, h.httpMethod, sent, h.httpMethod === 'DELETE' ? undefined : b);
        statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
        check(a, `${h.httpMethod} ${h.path} ${JSON.stringify({ ...sent, authorization: sent.authorization === undefined ? undefined : '…' })} ${b.slice(0, 200)}`);
      }),
      { seed: SEED, numRuns: RPC_RUNS, endOnFailure: true },
    );
    console.log(`fuzz /mcp statuses: ${JSON.stringify(Object.fromEntries([...statuses].sort((x, y) => x[0] - y[0])))}`);
    const health = await fetch(base + '/healthz');
    assert.equal(health.status, 200);
  });

  test(`admin API request bodies: ${String(ADMIN_RUNS)} cases`, async () => {
    const routes = [
      ['POST', '/connectors'], ['POST', '/keys'], ['POST', '/servers'], ['POST', '/members'], ['POST', '/organisations'], ['POST', '/oauth/issuers'],
      ['POST', '/policy/test'], ['PUT', '/guardrails'], ['PUT', '/guardrails/connectors/fx'], ['PUT', '/guardrails/tools/fx/echo'], ['PUT', '/guardrails/deny-rules/r1'],
      ['PUT', '/traffic/tools'], ['PUT', '/traffic/approvals'], ['PATCH', '/connectors/nope'], ['PATCH', '/keys/nope'], ['PUT', '/traffic/keys/nope'],
      ['POST', '/tools/pins/fx/echo/classification'], ['PUT', '/connectors/fx/pinning'], ['PUT', '/scim'],
    ] as const;
    const field = fc.oneof(text, fc.integer(), fc.boolean(), fc.constant(null), fc.array(text, { maxLength: 3 }), fc.jsonValue({ maxDepth: 2 }));
    const keys = fc.constantFrom('name', 'type', 'url', 'headers', 'command', 'args', 'env', 'scopes', 'role', 'expiresAt', 'servers', 'cidrs', 'pattern', 'limit', 'tier', 'policy', 'text', 'email', 'issuer', 'audience', 'mode', 'rules', 'tool', 'path', 'ignoreCase', 'enabled', '__proto__', 'constructor');
    const adminBody = fc.oneof(
      { weight: 5, arbitrary: fc.dictionary(keys, field, { maxKeys: 6 }).map((o) => JSON.stringify(o)) },
      { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)) },
      { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
      { weight: 1, arbitrary: fc.constant('{"__proto__":{"polluted":true},"name":"x"}') },
    );
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), adminBody, fc.constantFrom('application/json', 'application/json', 'text/plain', 'none'), async ([m, path], b, type) => {
        const headers: Record<string, string> = { authorization: `Bearer ${gw.ownerKey}` };
        if (type !== 'none') headers['content-type'] = type;
        const a = await send(apiBase(gw) + path, m, headers, b);
        statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
        check(a, `${m} ${path} ${b.slice(0, 200)}`);
      }),
      { seed: SEED, numRuns: ADMIN_RUNS, endOnFailure: true },
    );
    console.log(`fuzz admin statuses: ${JSON.stringify(Object.fromEntries([...statuses].sort((x, y) => x[0] - y[0])))}`);
    assert.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype was polluted');
    const health = await fetch(gw.url.replace(/\/mcp$/, '/healthz'));
    assert.equal(health.status, 200);
  });

  test('every audit chain verifies after the pass', async () => {
    for (const chain of [gw.org.id, SYSTEM_CHAIN]) {
      const report = await verifyChain(gw.app.services.store, chain);
      assert.ok(report.ok, `${chain}: ${JSON.stringify(report.firstBreak)}`);
      assert.ok(report.verified > 0, `${chain} has records`);
    }
  });
});
