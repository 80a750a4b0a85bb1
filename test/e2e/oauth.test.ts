// Agents with OAuth access tokens from their organisation's IdP (a real oidc-provider per organisation): RFC 9728
// metadata, tokens mapped to key scopes, 403 insufficient_scope for step-up, organisations kept apart, and the
// client's token never reaching an upstream.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { newId } from '../../src/ids.ts';
import type { Organisation } from '../../src/store/types.ts';
import { startFixtureHttpServer, type FixtureHttpServer } from '../fixtures/fixture-server.ts';
import { addAndConnect, connect, httpConnector, rawPost, runCli, startGateway, stdioFixture, type Gateway } from './harness.ts';
import { startIdp, type Idp } from './oauth-idp.ts';

const INIT = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'oauth-e2e', version: '1' } } };
const VAULT_TOKEN = 'vault-held-upstream-credential';

describe('OAuth access tokens', () => {
  let gw: Gateway;
  let idpA: Idp;
  let idpB: Idp;
  let orgB: Organisation;
  let upstream: FixtureHttpServer;
  let metadataUrl: string;
  const clients: Client[] = [];

  async function client(token: string): Promise<Client> {
    const c = await connect(gw.url, token, 'oauth-agent');
    clients.push(c);
    return c;
  }
  const toolsOf = async (c: Client) => (await c.listTools()).tools.map((t) => t.name).sort();

  before(async () => {
    gw = await startGateway();
    metadataUrl = `${new URL(gw.url).origin}/.well-known/oauth-protected-resource/mcp`;
    [idpA, idpB] = await Promise.all([startIdp('agent-a'), startIdp('agent-b')]);
    orgB = { id: newId('org'), slug: 'globex', name: 'Globex', createdAt: new Date().toISOString(), deletedAt: null };
    await gw.app.services.store.createOrganisation(orgB);
    upstream = await startFixtureHttpServer({ headersTool: true });
    await addAndConnect(gw, stdioFixture('alpha'));
    await addAndConnect(gw, httpConnector('web', upstream.url, [{ name: 'Authorization', value: `Bearer ${VAULT_TOKEN}`, secret: true }]));
    await addAndConnect(gw, stdioFixture('beta'), orgB.id);
    // Configured with the real CLI: the JWKS URI is discovered from the IdP's metadata, the audience defaults to /mcp.
    const a = await runCli(gw, ['oauth', 'issuers', 'add', idpA.issuer, '--map', 'mcp:tools=alpha/echo,web', '--map', 'mcp:all=*', '--require-scope', 'mcp']);
    assert.equal(a.code, 0, a.stderr);
    assert.match(a.stdout, new RegExp(`JWKS: +${idpA.issuer}/jwks`));
    assert.match(a.stdout, new RegExp(`audience: +${gw.url}`));
    const b = await runCli(gw, ['oauth', 'issuers', 'add', idpB.issuer, '--org', 'globex', '--map', 'mcp=*', '--alg', 'ES256']);
    assert.equal(b.code, 0, b.stderr);
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await gw.close();
    await Promise.all([idpA.close(), idpB.close(), upstream.close()]);
  });

  test('protected resource metadata names the resource, the issuers and their scopes (RFC 9728)', async () => {
    const res = await fetch(metadataUrl);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    assert.deepEqual(await res.json(), {
      resource: gw.url,
      authorization_servers: [idpA.issuer, idpB.issuer].sort(),
      scopes_supported: ['mcp', 'mcp:all', 'mcp:tools'],
      bearer_methods_supported: ['header'],
      resource_name: 'Gatehouse',
    });
    const root = (await (await fetch(new URL('/.well-known/oauth-protected-resource', gw.url))).json()) as Record<string, unknown>;
    assert.equal(root.resource, gw.url, 'the bare well-known path describes /mcp too');
    const hinted = (await (await fetch(`${metadataUrl}?org=globex`)).json()) as Record<string, unknown>;
    assert.deepEqual(hinted.authorization_servers, [idpB.issuer]);
    assert.deepEqual(hinted.scopes_supported, ['mcp']);
    const unknownOrg = (await (await fetch(`${metadataUrl}?org=nope`)).json()) as Record<string, unknown>;
    assert.deepEqual(unknownOrg.authorization_servers, []);
    const server = (await (await fetch(new URL('/.well-known/oauth-protected-resource/servers/docs/mcp', gw.url))).json()) as Record<string, unknown>;
    assert.equal(server.resource, new URL('/servers/docs/mcp', gw.url).toString());
    assert.equal((await fetch(new URL('/.well-known/oauth-protected-resource/other', gw.url))).status, 404);
    assert.equal((await fetch(metadataUrl, { method: 'POST' })).status, 405);

    const anonymous = await rawPost(gw.url, INIT);
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.headers.get('www-authenticate'), `Bearer resource_metadata="${metadataUrl}"`);
    await anonymous.body?.cancel();
  });

  test('a token sees and calls what its scopes map to, and the audit names its subject and client, never the token', async () => {
    const token = await idpA.token('mcp mcp:tools', gw.url);
    const c = await client(token);
    assert.deepEqual((await toolsOf(c)).filter((t) => !t.startsWith('web__')), ['alpha__echo']);
    assert.ok((await toolsOf(c)).includes('web__request_headers'));
    const echoed = (await c.callTool({ name: 'alpha__echo', arguments: { text: 'via token' } })) as CallToolResult;
    assert.deepEqual(echoed.content, [{ type: 'text', text: 'via token' }]);
    await assert.rejects(c.callTool({ name: 'alpha__add', arguments: { a: 1, b: 2 } }), /Unknown tool: alpha__add/);

    const issuerId = (await gw.app.services.store.oauthIssuers.findOAuthIssuer(idpA.issuer))?.id;
    const audit = await gw.app.services.store.listAudit(gw.org.id, 0, 10_000);
    const call = audit.find((r) => r.action === 'mcp.tools/call' && r.targetName === 'echo');
    assert.equal(call?.actorUser, 'agent-a', 'client_credentials tokens have the client as subject');
    assert.equal(call.actorKeyId, `oauth:${issuerId ?? ''}:agent-a`);
    assert.equal(call.decision, 'allow');
    assert.ok(!JSON.stringify(audit).includes(token), 'the token is in no audit record');
    assert.ok(!gw.logs.join('\n').includes(token), 'the token is in no log line');
  });

  test("a token of one organisation never reaches another's catalog", async () => {
    const a = await client(await idpA.token('mcp mcp:all', gw.url));
    const aTools = await toolsOf(a);
    assert.ok(aTools.includes('alpha__add') && aTools.includes('web__echo'));
    assert.ok(!aTools.some((t) => t.startsWith('beta__')));
    const b = await client(await idpB.token('mcp', gw.url));
    const bTools = await toolsOf(b);
    assert.ok(bTools.length > 0 && bTools.every((t) => t.startsWith('beta__')), bTools.join(' '));
    await assert.rejects(b.callTool({ name: 'alpha__echo', arguments: { text: 'x' } }), /Unknown tool/);
    const bAudit = await gw.app.services.store.listAudit(orgB.id, 0, 10_000);
    assert.ok(bAudit.some((r) => r.action === 'mcp.tools/list' && r.actorUser === 'agent-b'));
  });

  test('a valid token without the required scope gets 403 insufficient_scope naming what to ask for', async () => {
    const cases: [string, string][] = [
      ['mcp:tools', 'mcp'],
      ['mcp mcp:other', 'mcp:all mcp:tools'],
    ];
    for (const [scope, wanted] of cases) {
      const res = await rawPost(gw.url, INIT, { authorization: `Bearer ${await idpA.token(scope, gw.url)}` });
      assert.equal(res.status, 403, scope);
      assert.equal(res.headers.get('www-authenticate'), `Bearer error="insufficient_scope", scope="${wanted}", resource_metadata="${metadataUrl}"`);
      const body = (await res.json()) as { error: { message: string } };
      assert.equal(body.error.message, 'Insufficient scope');
      const id = res.headers.get('x-correlation-id');
      const record = (await gw.app.services.store.listAudit(gw.org.id, 0, 10_000)).find((r) => r.correlationId === id);
      assert.equal(record?.action, 'auth.scope');
      assert.equal(record.reason, 'insufficient_scope');
    }
  });

  test("the client's token never reaches an upstream: it gets only its own vault credential", async () => {
    const token = await idpA.token('mcp mcp:tools', gw.url);
    for (const credential of [token, gw.ownerKey]) {
      const c = await client(credential);
      const result = (await c.callTool({ name: 'web__request_headers', arguments: {} })) as CallToolResult;
      const text = result.content[0]?.type === 'text' ? result.content[0].text : '';
      const headers = JSON.parse(text) as Record<string, string>;
      assert.ok(typeof headers.authorization === 'string', 'the upstream got an Authorization header');
      assert.ok(!text.includes(credential), `the upstream saw the client's credential: ${Object.keys(headers).join(', ')}`);
      assert.ok(!Object.values(headers).some((v) => v.includes(credential.slice(10, 40))), 'not even part of it');
    }
  });

  test('issuers are listed per organisation, one organisation per issuer, and removal stops their tokens', async () => {
    const taken = await runCli(gw, ['oauth', 'issuers', 'add', idpA.issuer, '--org', 'globex', '--map', 'mcp=*']);
    assert.equal(taken.code, 1);
    assert.match(taken.stderr, /already trusted by an organisation on this gateway/);
    assert.ok(!taken.stderr.includes(gw.org.slug), 'which organisation has it is not said');
    const listA = JSON.parse((await runCli(gw, ['oauth', 'issuers', 'list', '--json'])).stdout) as { issuer: string }[];
    assert.deepEqual(listA.map((i) => i.issuer), [idpA.issuer]);
    const hs = await runCli(gw, ['oauth', 'issuers', 'add', 'https://idp.example', '--map', 'mcp=*', '--alg', 'HS256', '--jwks-uri', 'https://idp.example/jwks']);
    assert.match(hs.stderr, /Algorithm 'HS256' is not accepted/);
    const plain = await runCli(gw, ['oauth', 'issuers', 'add', 'http://idp.example', '--map', 'mcp=*', '--jwks-uri', 'http://idp.example/jwks']);
    assert.match(plain.stderr, /must be https \(http only on loopback\)/);

    const token = await idpB.token('mcp', gw.url);
    assert.equal((await rawPost(gw.url, INIT, { authorization: `Bearer ${token}` })).status, 200);
    const removed = await runCli(gw, ['oauth', 'issuers', 'remove', idpB.issuer, '--org', 'globex']);
    assert.equal(removed.code, 0, removed.stderr);
    const after = await rawPost(gw.url, INIT, { authorization: `Bearer ${token}` });
    assert.equal(after.status, 401);
    assert.equal(after.headers.get('www-authenticate'), `Bearer error="invalid_token", resource_metadata="${metadataUrl}"`);
  });
});
