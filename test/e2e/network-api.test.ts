// The organisation's `api` allowlist and per-key CIDRs on the control plane: the admin API (keys and browser
// sessions), sign-in under /auth and SCIM, all after authentication and all audited as ip_not_allowed. The gateway
// trusts 127.0.0.1 as a proxy, so each request's client address is what its X-Forwarded-For says (or 127.0.0.1).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { operatorActor } from '../../src/services/context.ts';
import { setUserPassword } from '../../src/services/sign-in.ts';
import type { AuditRecord } from '../../src/store/types.ts';
import { apiBase, makeOrg, type TestOrg } from './admin-client.ts';
import { Browser } from './browser.ts';
import { startGateway, type Gateway } from './harness.ts';

const PASSWORD = 'violet kettle harbour 93';
const OFFICE = '10.1.2.3';
const REFUSED = { error: { code: 'forbidden', message: 'Not allowed from this network' } };

describe('network rules on the control plane', () => {
  let gw: Gateway;
  let org: TestOrg;
  let base: string;

  async function call(key: string, method: string, path: string, from?: string, body?: unknown) {
    const headers: Record<string, string> = { authorization: `Bearer ${key}` };
    if (from !== undefined) headers['x-forwarded-for'] = from;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(apiBase(gw) + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: text === '' ? undefined : (JSON.parse(text) as unknown), correlationId: res.headers.get('x-correlation-id') };
  }
  async function auditOf(correlationId: string | null): Promise<AuditRecord | undefined> {
    return (await gw.app.services.store.listAudit(org.id, 0, 100_000)).find((r) => r.correlationId === correlationId);
  }

  before(async () => {
    // The issuer below is only stored, never fetched from (no token is sent): egress checks its name when stored, so
    // the name resolves (by this test's resolver) to a public address nothing here connects to.
    gw = await startGateway({ GATEHOUSE_TRUSTED_PROXIES: '127.0.0.1/32' }, { resolver: () => Promise.resolve(['93.184.215.14']) });
    base = gw.url.replace(/\/mcp$/, '');
    org = await makeOrg(gw, 'netco');
    await setUserPassword(gw.app.services, operatorActor('test'), org.people.admin.email, PASSWORD);
  });
  after(async () => {
    await gw.close();
  });

  test('the admin API sets the api allowlist, and from then on refuses other addresses with an audited 403', async () => {
    const owner = org.people.owner.key;
    const set = await call(owner, 'PUT', '/network/api', OFFICE, { cidrs: ['10.0.0.0/8', '2001:db8::/32'] });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    assert.deepEqual((set.body as { cidrs: string[] }).cidrs, ['10.0.0.0/8', '2001:db8::/32']);

    const refused = await call(owner, 'GET', '/me');
    assert.equal(refused.status, 403);
    assert.deepEqual(refused.body, REFUSED);
    const record = await auditOf(refused.correlationId);
    assert.deepEqual([record?.action, record?.decision, record?.reason, record?.targetName, record?.clientIp], ['auth.network', 'deny', 'ip_not_allowed', 'org', '127.0.0.1']);
    assert.equal(record?.actorKeyId, org.people.owner.keyId);

    const listed = await call(org.people.viewer.key, 'GET', '/network', OFFICE);
    assert.equal(listed.status, 200);
    assert.deepEqual((listed.body as { planes: { plane: string; restricted: boolean }[] }).planes.map((p) => [p.plane, p.restricted]), [['mcp', false], ['api', true]]);
    assert.equal((await call(owner, 'PUT', '/network/api', OFFICE, { cidrs: ['10.0.0.0/33'] })).status, 400);
    // The MCP plane is not the api plane's business.
    const mcp = await fetch(gw.url, {
      method: 'POST',
      headers: { authorization: `Bearer ${owner}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'n', version: '1' } } }),
    });
    assert.equal(mcp.status, 200);
    await mcp.body?.cancel();
    assert.equal((await call(owner, 'PUT', '/network/api', OFFICE, { cidrs: null })).status, 200);
    assert.equal((await call(owner, 'GET', '/me')).status, 200, 'lifted');
  });

  test("a key's own CIDRs apply on the admin API, and keys it creates reach no further", async () => {
    const created = await call(org.people.admin.key, 'POST', '/keys', undefined, { name: 'office', scopes: ['*'], role: 'admin', cidrs: ['10.0.0.0/8'] });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const { key, record } = created.body as { key: string; record: { cidrs: string[] } };
    assert.deepEqual(record.cidrs, ['10.0.0.0/8']);
    const refused = await call(key, 'GET', '/me');
    assert.equal(refused.status, 403);
    assert.equal((await auditOf(refused.correlationId))?.targetName, 'key');
    assert.equal((await call(key, 'GET', '/me', OFFICE)).status, 200);

    const inherited = await call(key, 'POST', '/keys', OFFICE, { name: 'child', scopes: ['*'] });
    assert.equal(inherited.status, 201);
    assert.deepEqual((inherited.body as { record: { cidrs: string[] } }).record.cidrs, ['10.0.0.0/8'], 'as its creator is restricted');
    assert.equal((await call(key, 'POST', '/keys', OFFICE, { name: 'narrower', scopes: ['*'], cidrs: ['10.9.0.0/16'] })).status, 201);
    const wider = await call(key, 'POST', '/keys', OFFICE, { name: 'wider', scopes: ['*'], cidrs: ['192.0.2.0/24'] });
    assert.equal(wider.status, 403);
    assert.match((wider.body as { error: { message: string } }).error.message, /beyond the networks your key may be used from/);
  });

  test('sign-in and sessions follow the api allowlist: a session from elsewhere is ended at once, and refused later', async () => {
    assert.equal((await call(org.people.owner.key, 'PUT', '/network/api', OFFICE, { cidrs: ['10.0.0.0/8'] })).status, 200);
    try {
      const login = (b: Browser, from?: string) =>
        b.fetch(`${base}/auth/login`, { body: { org: 'netco', email: org.people.admin.email, password: PASSWORD }, headers: { origin: base, ...(from === undefined ? {} : { 'x-forwarded-for': from }) } });
      const outside = new Browser();
      const refused = await login(outside);
      assert.equal(refused.status, 403);
      assert.deepEqual(await refused.json(), REFUSED);
      const audited = (await gw.app.services.store.listAudit(org.id, 0, 100_000)).filter((r) => r.action === 'auth.network' && r.actorUser === org.people.admin.userId);
      assert.deepEqual(audited.map((r) => [r.reason, r.clientIp]), [['ip_not_allowed', '127.0.0.1']]);

      const inside = new Browser();
      const ok = await login(inside, OFFICE);
      assert.equal(ok.status, 200);
      const { csrfToken } = (await ok.json()) as { csrfToken: string };
      assert.equal((await inside.fetch(`${apiBase(gw)}/me`, { headers: { 'x-forwarded-for': OFFICE } })).status, 200);
      const elsewhere = await inside.fetch(`${apiBase(gw)}/me`);
      assert.equal(elsewhere.status, 403, 'the same session from another address');
      assert.equal((await inside.fetch(`${base}/auth/session`)).status, 403);
      const out = await inside.fetch(`${base}/auth/logout`, { method: 'POST', csrf: csrfToken, headers: { origin: base, 'x-forwarded-for': OFFICE } });
      assert.equal(out.status, 204);
    } finally {
      assert.equal((await call(org.people.owner.key, 'PUT', '/network/api', OFFICE, { cidrs: null })).status, 200);
    }
  });

  test("SCIM comes from the IdP's addresses: the api allowlist applies after the token names the organisation", async () => {
    const issued = await call(org.people.owner.key, 'POST', '/scim/token', undefined, {});
    const token = (issued.body as { token: string }).token;
    assert.equal((await call(org.people.owner.key, 'PUT', '/network/api', OFFICE, { cidrs: ['10.0.0.0/8'] })).status, 200);
    const scim = (from?: string) => fetch(`${base}/scim/v2/Users`, { headers: { authorization: `Bearer ${token}`, ...(from === undefined ? {} : { 'x-forwarded-for': from }) } });
    const refused = await scim();
    assert.equal(refused.status, 403);
    const record = await auditOf(refused.headers.get('x-correlation-id'));
    assert.deepEqual([record?.action, record?.reason], ['scim.auth.network', 'ip_not_allowed']);
    assert.equal((await scim(OFFICE)).status, 200);
  });

  test('OAuth issuers through the admin API: no wider than the caller, listed, removed', async () => {
    const issuer = { issuer: 'https://idp.netco.example', audience: gw.url, jwksUri: 'https://idp.netco.example/jwks', scopeMap: { mcp: ['*'] } };
    const narrow = await call(org.people.owner.key, 'POST', '/keys', OFFICE, { name: 'narrow-admin', role: 'admin', scopes: ['fx'] });
    const narrowKey = (narrow.body as { key: string }).key;
    const wider = await call(narrowKey, 'POST', '/oauth/issuers', OFFICE, issuer);
    assert.equal(wider.status, 403);
    assert.match((wider.body as { error: { message: string } }).error.message, /scope '\*' is wider than your scopes/);
    const added = await call(org.people.admin.key, 'POST', '/oauth/issuers', OFFICE, issuer);
    assert.equal(added.status, 201, JSON.stringify(added.body));
    const { id } = added.body as { id: string };
    const listed = await call(org.people.viewer.key, 'GET', '/oauth/issuers', OFFICE);
    assert.deepEqual((listed.body as { issuers: { id: string }[] }).issuers.map((i) => i.id), [id]);
    assert.equal((await call(org.people.admin.key, 'DELETE', `/oauth/issuers/${id}`, OFFICE)).status, 204);
    assert.equal((await call(org.people.admin.key, 'DELETE', `/oauth/issuers/${id}`, OFFICE)).status, 404);
  });
});
