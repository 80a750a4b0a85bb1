// Traffic limits and deny lists through a running gateway: what must be refused, how it is answered (429 with
// Retry-After and the IETF RateLimit headers on HTTP, a JSON-RPC error inside a session), what stays exempt
// (health and readiness probes), and what is audited - the first refusal per limit and subject in a window as a
// record of its own, the rest of a flood counted into one aggregated record. 127.0.0.1 is the trusted proxy, so each
// test speaks from an address of its own through X-Forwarded-For and no test uses up another's budget.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { SYSTEM_CHAIN } from '../../src/gateway/audit/audit-log.ts';
import { operatorActor } from '../../src/services/context.ts';
import { createKey } from '../../src/services/keys.ts';
import type { AuditRecord } from '../../src/store/types.ts';
import { api } from './admin-client.ts';
import { addAndConnect, connect, rawPost, runCli, stdioFixture, waitFor, type Gateway, startGateway } from './harness.ts';

const INIT = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'traffic-e2e', version: '1' } } };
const RATE_LIMITED = -32029;

describe('traffic limits and deny lists', () => {
  let gw: Gateway;
  const clients: Client[] = [];

  before(async () => {
    gw = await startGateway({
      GATEHOUSE_TRUSTED_PROXIES: '127.0.0.1/32',
      GATEHOUSE_RATE_LIMIT_ADDRESS: '1/m,burst=20',
      GATEHOUSE_RATE_LIMIT_AUTH: '1/m,burst=5',
      GATEHOUSE_RATE_LIMIT_AUDIT_WINDOW_MS: '300',
      GATEHOUSE_DENY_CIDRS: '198.51.100.7',
    });
    await addAndConnect(gw, stdioFixture('fx'));
  });
  after(async () => {
    for (const c of clients) await c.close();
    await gw.close();
  });

  function post(from: string, headers: Record<string, string> = {}): Promise<Response> {
    return rawPost(gw.url, INIT, { 'x-forwarded-for': from, ...headers });
  }

  async function systemRecords(): Promise<AuditRecord[]> {
    return gw.app.services.store.listAudit(SYSTEM_CHAIN, 0, 100_000);
  }

  async function newKey(name: string): Promise<{ id: string; key: string }> {
    const { key, record } = await createKey(gw.app.services, operatorActor('traffic-e2e'), { orgId: gw.org.id, name, scopes: ['*'] });
    return { id: record.id, key };
  }

  async function client(key: string, from: string): Promise<Client> {
    const c = await connect(gw.url, key, `traffic-${from}`, { 'x-forwarded-for': from });
    clients.push(c);
    return c;
  }

  /**
   * Calls until the first refusal (at most `max`), and returns how many went through and the refusal's JSON-RPC code:
   * a refused POST is answered 429 with the JSON-RPC error as its body (the SDK reports the status and the body).
   */
  async function callUntilRefused(c: Client, tool: string, max: number): Promise<{ passed: number; refusal: { code: number; status?: number } | undefined }> {
    for (let i = 0; i < max; i++) {
      try {
        await c.callTool({ name: tool, arguments: tool.endsWith('add') ? { a: 1, b: 2 } : { text: `t${String(i)}` } });
      } catch (err) {
        if (err instanceof McpError) return { passed: i, refusal: { code: err.code } };
        if (err instanceof StreamableHTTPError && err.code === 429) {
          const body = JSON.parse(err.message.slice(err.message.indexOf('{'))) as { error: { code: number } };
          return { passed: i, refusal: { code: body.error.code, status: 429 } };
        }
        throw err;
      }
    }
    return { passed: max, refusal: undefined };
  }

  test('an address past its limit gets 429 with Retry-After and RateLimit headers, on /mcp and on the admin API, while probes stay exempt', async () => {
    const from = '203.0.113.10';
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++) statuses.push((await post(from, { authorization: `Bearer ${gw.ownerKey}` })).status);
    assert.deepEqual(statuses.slice(0, 20), Array<number>(20).fill(200), 'the burst goes through');
    assert.deepEqual(statuses.slice(20), Array<number>(5).fill(429));

    const refused = await post(from, { authorization: `Bearer ${gw.ownerKey}` });
    assert.equal(refused.status, 429);
    assert.ok(Number(refused.headers.get('retry-after')) >= 1);
    assert.equal(refused.headers.get('ratelimit-policy'), '"address";q=1;w=60');
    assert.match(refused.headers.get('ratelimit') ?? '', /^"address";r=0;t=\d+$/);
    const body = (await refused.json()) as { error: { code: number; message: string } };
    assert.equal(body.error.code, RATE_LIMITED);

    const admin = await fetch(gw.url.replace(/\/mcp$/, '/api/v1/keys'), { headers: { authorization: `Bearer ${gw.ownerKey}`, 'x-forwarded-for': from } });
    assert.equal(admin.status, 429, 'the admin API shares the address limit');
    assert.ok(admin.headers.get('retry-after') !== null);
    const scim = await fetch(gw.url.replace(/\/mcp$/, '/scim/v2/Users'), { headers: { authorization: 'Bearer x', 'x-forwarded-for': from } });
    assert.equal(scim.status, 429, 'so does SCIM');

    for (const probe of ['/healthz', '/readyz']) {
      const res = await fetch(gw.url.replace(/\/mcp$/, probe), { headers: { 'x-forwarded-for': from } });
      assert.equal(res.status, 200, `${probe} is exempt`);
    }
    const other = await post('203.0.113.11', { authorization: `Bearer ${gw.ownerKey}` });
    assert.equal(other.status, 200, 'another address has its own budget');
  });

  test('a flood of bad keys from one address gets 429 before it gets more 401s, and valid keys from it are refused too', async () => {
    const from = '203.0.113.20';
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await post(from, { authorization: `Bearer gh_bogus_${String(i)}` })).status);
    assert.deepEqual(statuses.slice(0, 5), Array<number>(5).fill(401));
    assert.deepEqual(statuses.slice(5), Array<number>(7).fill(429));
    const valid = await post(from, { authorization: `Bearer ${gw.ownerKey}` });
    assert.equal(valid.status, 429, 'an address that used up its failures is refused before its key is looked at');
    assert.equal(valid.headers.get('ratelimit-policy'), '"auth";q=1;w=60');
    assert.equal((await post('203.0.113.21', { authorization: `Bearer ${gw.ownerKey}` })).status, 200);
  });

  test('sign-in requests are limited per address like authentication failures', async () => {
    const from = '203.0.113.30';
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await fetch(gw.url.replace(/\/mcp$/, '/auth/login'), {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': from },
        body: JSON.stringify({ org: 'default', email: 'nobody@example.com', password: 'not the password at all' }),
      });
      statuses.push(res.status);
    }
    assert.ok(!statuses.slice(0, 5).includes(429), `the first five are answered: ${statuses.join(',')}`);
    assert.deepEqual(statuses.slice(5), [429, 429, 429]);
  });

  test('a key tier limits that key alone; in a session the refusal is HTTP 429 carrying the JSON-RPC error', async () => {
    const slow = await newKey('slow');
    const fast = await newKey('fast');
    const set = await api(gw, gw.ownerKey, 'PUT', `/traffic/keys/${slow.id}`, { tier: '1/m,burst=6' });
    assert.equal(set.status, 200, set.text);
    const c = await client(slow.key, '203.0.113.40');
    // initialize and tools/list took two of the six
    const { passed, refusal } = await callUntilRefused(c, 'fx__echo', 10);
    assert.ok(passed >= 2 && passed <= 4, `passed ${String(passed)}`);
    assert.deepEqual(refusal, { code: RATE_LIMITED, status: 429 });
    const other = await client(fast.key, '203.0.113.41');
    assert.equal((await callUntilRefused(other, 'fx__echo', 8)).refusal, undefined, 'another key of the organisation is not limited');
    assert.equal((await api(gw, gw.ownerKey, 'PUT', `/traffic/keys/${slow.id}`, { tier: 'ten' })).status, 400, 'a tier that is no tier is refused');
    await api(gw, gw.ownerKey, 'PUT', `/traffic/keys/${slow.id}`, { tier: null });
  });

  test('a tool limit refuses that tool only; the organisation limit is shared by all its keys', async () => {
    const a = await newKey('tool-a');
    assert.equal((await api(gw, gw.ownerKey, 'PUT', '/traffic/tools', { pattern: 'fx/echo', limit: '1/m,burst=3' })).status, 200);
    const c = await client(a.key, '203.0.113.50');
    const echo = await callUntilRefused(c, 'fx__echo', 6);
    assert.equal(echo.passed, 3);
    assert.equal(echo.refusal?.code, RATE_LIMITED);
    assert.equal((await callUntilRefused(c, 'fx__add', 3)).refusal, undefined, 'the other tool is not limited');
    await api(gw, gw.ownerKey, 'PUT', '/traffic/tools', { pattern: 'fx/echo', limit: null });

    assert.equal((await api(gw, gw.ownerKey, 'PUT', '/traffic/org-limit', { limit: '1/m,burst=8' })).status, 200);
    const k1 = await client((await newKey('org-1')).key, '203.0.113.51');
    const k2 = await client((await newKey('org-2')).key, '203.0.113.52');
    let passed = 0;
    let refusal: { code: number } | undefined;
    for (let i = 0; i < 12 && refusal === undefined; i++) {
      const r = await callUntilRefused(i % 2 === 0 ? k1 : k2, 'fx__add', 1);
      passed += r.passed;
      refusal = r.refusal;
    }
    assert.equal(refusal?.code, RATE_LIMITED, 'two keys together run into the organisation limit');
    assert.ok(passed < 8);
    await api(gw, gw.ownerKey, 'PUT', '/traffic/org-limit', { limit: null });
  });

  test("an organisation's own limit per address is shared by all its keys from that address, and no other address", async () => {
    assert.equal((await api(gw, gw.ownerKey, 'PUT', '/traffic/address-limit', { limit: '1/m,burst=10' })).status, 200);
    const one = await newKey('addr-1');
    const two = await newKey('addr-2');
    const c1 = await client(one.key, '203.0.113.60');
    const c2 = await client(two.key, '203.0.113.60');
    let passed = 0;
    let refusal: { code: number } | undefined;
    for (let i = 0; i < 12 && refusal === undefined; i++) {
      const r = await callUntilRefused(i % 2 === 0 ? c1 : c2, 'fx__add', 1);
      passed += r.passed;
      refusal = r.refusal;
    }
    assert.equal(refusal?.code, RATE_LIMITED, 'two keys from one address together run into it');
    assert.ok(passed > 0 && passed < 10, `the connections' own requests count too: ${String(passed)} calls passed`);
    const elsewhere = await client(one.key, '203.0.113.61');
    assert.equal((await callUntilRefused(elsewhere, 'fx__add', 3)).refusal, undefined, 'the same key from another address has its own budget');
    const cli = await runCli(gw, ['traffic', 'address-limit', 'off']);
    assert.equal(cli.code, 0, cli.stderr);
    assert.equal((await callUntilRefused(c1, 'fx__add', 3)).refusal, undefined, 'lifted, the next request passes');
  });

  test('deny lists: gateway-wide and per organisation, and an organisation deny beats its allowlist', async () => {
    const denied = await post('198.51.100.7', { authorization: `Bearer ${gw.ownerKey}` });
    assert.equal(denied.status, 403);
    const deniedApi = await fetch(gw.url.replace(/\/mcp$/, '/api/v1/keys'), { headers: { authorization: `Bearer ${gw.ownerKey}`, 'x-forwarded-for': '198.51.100.7' } });
    assert.equal(deniedApi.status, 403, 'the gateway-wide deny list covers the admin API');

    const allow = await api(gw, gw.ownerKey, 'PUT', '/network/mcp', { cidrs: ['203.0.113.0/24', '127.0.0.0/8'] });
    assert.equal(allow.status, 200, allow.text);
    const deny = await api(gw, gw.ownerKey, 'PUT', '/traffic/deny/mcp', { cidrs: ['203.0.113.60/32'] });
    assert.equal(deny.status, 200, deny.text);
    assert.equal((await api(gw, gw.ownerKey, 'PUT', '/traffic/deny/mcp', { cidrs: ['not-a-cidr'] })).status, 400);
    const refused = await post('203.0.113.60', { authorization: `Bearer ${gw.ownerKey}` });
    assert.equal(refused.status, 403, 'inside the allowlist, but denied');
    assert.equal((await post('203.0.113.61', { authorization: `Bearer ${gw.ownerKey}` })).status, 200, 'the rest of the allowlist still works');
    const id = refused.headers.get('x-correlation-id');
    const record = (await gw.app.services.store.listAudit(gw.org.id, 0, 100_000)).find((r) => r.correlationId === id);
    assert.equal(record?.decision, 'deny');
    assert.equal(record.reason, 'ip_denied');
    await api(gw, gw.ownerKey, 'PUT', '/traffic/deny/mcp', { cidrs: [] });
    await api(gw, gw.ownerKey, 'PUT', '/network/mcp', { cidrs: null });
  });

  test('a flood of refusals writes one record per limit and subject in a window, and one aggregated count', async () => {
    const from = '203.0.113.70';
    const auth = { authorization: `Bearer ${gw.ownerKey}` };
    for (let i = 0; i < 20; i++) await post(from, auth);
    const before = (await systemRecords()).filter((r) => r.clientIp === from).length;
    for (let i = 0; i < 60; i++) assert.equal((await post(from, auth)).status, 429);
    const tally = async () => {
      const records = (await systemRecords()).filter((r) => r.clientIp === from);
      const limited = records.filter((r) => r.action === 'traffic.limited');
      const counted = records
        .filter((r) => r.action === 'traffic.suppressed')
        .reduce((n, r) => n + ((JSON.parse(r.detail ?? '{}') as { limit?: { suppressed?: number } }).limit?.suppressed ?? 0), 0);
      return { limited, counted };
    };
    // The refusals may span windows: each window's count is written once it has ended.
    await waitFor(async () => {
      const t = await tally();
      return t.limited.length + t.counted === 60;
    }, 5000, 'every refusal recorded or counted');
    const { limited, counted } = await tally();
    assert.equal(before, 0, 'requests that passed the address limit are not in the gateway chain');
    assert.ok(counted > 0, 'most of the flood is counted, not written');
    assert.ok(limited.length >= 1 && limited.length <= 4, `one record per window, not one per request: ${String(limited.length)}`);
    assert.equal(limited.length + counted, 60, 'every refusal is either recorded or counted, never both');
    assert.ok(limited.every((r) => r.decision === 'deny' && r.reason === 'rate_limited:address'));
  });
});
