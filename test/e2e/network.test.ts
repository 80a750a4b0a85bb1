// Network rules on the MCP endpoint against a running gateway bound to `::`, reached over IPv4 loopback (the peer
// is then the IPv4-mapped ::ffff:127.0.0.1) and IPv6 loopback. ::1 is the only trusted proxy, so X-Forwarded-For is
// believed from it and from nobody else.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateApiKey } from '../../src/gateway/authn/api-key-format.ts';
import type { AuditRecord } from '../../src/store/types.ts';
import { rawPost, runCli, startGateway, type Gateway } from './harness.ts';

const INIT = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'net-e2e', version: '1' } } };

describe('network rules', () => {
  let gw: Gateway;
  let v4: string;
  let v6: string;

  async function call(url: string, key: string, forwardedFor?: string): Promise<{ status: number; body: string; audit: AuditRecord | undefined }> {
    const res = await rawPost(url, INIT, { authorization: `Bearer ${key}`, ...(forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor }) });
    const body = await res.text();
    const id = res.headers.get('x-correlation-id');
    const audit = (await gw.app.services.store.listAudit(gw.org.id, 0, 10_000)).find((r) => r.correlationId === id);
    return { status: res.status, body, audit };
  }

  async function cliKey(args: string[]): Promise<string> {
    const r = await runCli(gw, ['keys', 'create', '--json', ...args]);
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { key: string }).key;
  }

  before(async () => {
    gw = await startGateway({ GATEHOUSE_HOST: '::', GATEHOUSE_TRUSTED_PROXIES: '::1/128' });
    const port = new URL(gw.url.replace('[::]', '127.0.0.1')).port;
    v4 = `http://127.0.0.1:${port}/mcp`;
    v6 = `http://[::1]:${port}/mcp`;
  });
  after(async () => {
    await gw.close();
  });

  test('a key bound to an IPv4 range works from a mapped IPv4 peer and is refused from IPv6, with 403 and an audit reason', async () => {
    const key = await cliKey(['--name', 'v4-only', '--cidr', '127.0.0.0/8']);
    const ok = await call(v4, key);
    assert.equal(ok.status, 200, ok.body);
    assert.equal(ok.audit?.clientIp, '127.0.0.1', 'the mapped peer is recorded as IPv4');
    const refused = await call(v6, key);
    assert.equal(refused.status, 403);
    assert.deepEqual(JSON.parse(refused.body), { jsonrpc: '2.0', id: null, error: { code: -32003, message: 'Not allowed from this network', data: { correlationId: refused.audit?.correlationId } } });
    assert.equal(refused.audit?.action, 'auth.network');
    assert.equal(refused.audit.decision, 'deny');
    assert.equal(refused.audit.reason, 'ip_not_allowed');
    assert.equal(refused.audit.targetName, 'key');
    assert.equal(refused.audit.clientIp, '::1');
    assert.ok(!refused.body.includes('127.0.0.0'), 'the refusal does not show the rule');
  });

  test('a key bound to ::1 cannot be used from elsewhere by claiming ::1 in X-Forwarded-For', async () => {
    const key = await cliKey(['--name', 'v6-only', '--cidr', '::1/128']);
    assert.equal((await call(v6, key)).status, 200);
    const spoofed = await call(v4, key, '::1');
    assert.equal(spoofed.status, 403, 'a peer that is not a trusted proxy is not believed');
    assert.equal(spoofed.audit?.clientIp, '127.0.0.1');
  });

  test("the organisation's MCP allowlist, set with the CLI, admits forwarded clients of trusted proxies only", async () => {
    const key = await cliKey(['--name', 'plain']);
    const allow = await runCli(gw, ['network', 'allow', '--plane', 'mcp', '10.0.0.0/8', '::ffff:192.168.0.0/112']);
    assert.equal(allow.code, 0, allow.stderr);
    assert.match(allow.stdout, /reachable from: 10\.0\.0\.0\/8 192\.168\.0\.0\/16/);
    const show = await runCli(gw, ['network', 'show', '--json']);
    assert.deepEqual(JSON.parse(show.stdout), [
      { plane: 'mcp', restricted: true, cidrs: ['10.0.0.0/8', '192.168.0.0/16'] },
      { plane: 'api', restricted: false, cidrs: null },
    ]);

    const direct = await call(v4, key);
    assert.equal(direct.status, 403);
    assert.equal(direct.audit?.targetName, 'org');
    assert.equal(direct.audit.reason, 'ip_not_allowed');
    const spoofed = await call(v4, key, '10.1.2.3');
    assert.equal(spoofed.status, 403, 'X-Forwarded-For from an untrusted peer is ignored');
    assert.equal(spoofed.audit?.clientIp, '127.0.0.1');

    const proxied = await call(v6, key, '10.1.2.3');
    assert.equal(proxied.status, 200, proxied.body);
    assert.equal(proxied.audit?.clientIp, '10.1.2.3', 'the forwarded client is what the audit records');
    const mapped = await call(v6, key, '::ffff:192.168.7.7');
    assert.equal(mapped.status, 200, 'a mapped forwarded address matches the IPv4 range');
    const chained = await call(v6, key, '10.9.9.9, 203.0.113.9');
    assert.equal(chained.status, 403, 'the rightmost untrusted hop is the client, not what it claimed');
    assert.equal(chained.audit?.clientIp, '203.0.113.9');
    const garbage = await call(v6, key, 'not-an-ip');
    assert.equal(garbage.status, 403, 'a malformed chain leaves the proxy as the client');
    assert.equal(garbage.audit?.clientIp, '::1');

    // An unknown key is refused as unauthenticated before any network rule is looked at.
    const unknown = await rawPost(v4, INIT, { authorization: `Bearer ${generateApiKey()}` });
    assert.equal(unknown.status, 401);
    await unknown.body?.cancel();

    // The api plane's list is the admin API's business: it does not touch /mcp.
    assert.equal((await runCli(gw, ['network', 'clear', '--plane', 'mcp'])).code, 0);
    assert.equal((await runCli(gw, ['network', 'allow', '--plane', 'api', '10.0.0.0/8'])).code, 0);
    assert.equal((await call(v4, key)).status, 200);

    const removed = await runCli(gw, ['network', 'remove', '--plane', 'api', '10.0.0.0/8']);
    assert.match(removed.stderr, /now empty: no address may reach it/);
    const actions = (await gw.app.services.store.listAudit(gw.org.id, 0, 10_000)).filter((r) => r.action.startsWith('network.')).map((r) => `${r.action} ${r.targetName ?? ''}`);
    assert.deepEqual(actions, ['network.allow mcp', 'network.clear mcp', 'network.allow api', 'network.remove api']);
  });

  test('the CLI refuses what is not a CIDR', async () => {
    const bad = await runCli(gw, ['network', 'allow', '--plane', 'mcp', '10.0.0.0/33']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /'10\.0\.0\.0\/33' is not a CIDR/);
    const badKey = await runCli(gw, ['keys', 'create', '--name', 'x', '--cidr', 'office']);
    assert.equal(badKey.code, 1);
    assert.match(badKey.stderr, /'office' is not a CIDR/);
    assert.equal((await runCli(gw, ['network', 'allow', '10.0.0.0/8'])).code, 2, '--plane is required');
  });
});
