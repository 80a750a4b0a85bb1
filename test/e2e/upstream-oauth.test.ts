// Upstreams that want OAuth, client-credentials mode, end to end: a real authorization server (oidc-provider) and
// an MCP server that verifies its tokens (audience = its own URL). The gateway discovers the server from the
// upstream's 401, asks for a token for the upstream as resource, keeps it, steps up on 403 insufficient_scope, and
// never sends the agent's own credential upstream. And what it must refuse: a wrong secret, metadata naming another
// resource, an authorization server egress does not allow, another issuer than the connector's, endless step-up.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { api } from './admin-client.ts';
import { addAndConnect, connect, type Gateway, resultText, rpcError, runCli, startGateway, waitFor } from './harness.ts';
import { AS_SCOPES, CLIENT_ID, CLIENT_SECRET, startAuthServer, startProtectedUpstream, type AuthServer, type ProtectedUpstream } from '../fixtures/oauth-upstream.ts';

describe('upstream OAuth: client credentials', () => {
  let gw: Gateway;
  let as: AuthServer;
  let upstream: ProtectedUpstream;
  let client: Client;
  before(async () => {
    as = await startAuthServer();
    [gw, upstream] = await Promise.all([startGateway(), startProtectedUpstream({ authorizationServer: as.issuer, challengeScope: 'mcp:read' })]);
    await addAndConnect(gw, { name: 'guarded', type: 'http', url: upstream.url, headers: [], oauth: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET } });
    client = await connect(gw.url, gw.ownerKey);
  });
  after(async () => {
    await client.close();
    await Promise.all([gw.close(), upstream.close()]);
    await as.close();
  });

  test('the upstream\'s tools are listed and called with a token the upstream verified (aud = its URL)', async () => {
    const { tools } = await client.listTools();
    assert.ok(tools.some((t) => t.name === 'guarded__read'), JSON.stringify(tools.map((t) => t.name)));
    assert.equal(resultText(await client.callTool({ name: 'guarded__read', arguments: {} })), 'read done');
    const first = as.tokenRequests[0];
    assert.equal(first?.resource, upstream.url, 'the token is asked for the upstream as resource (RFC 8707)');
    assert.equal(first.scope, 'mcp:read', 'the scope the 401 named');
  });

  test('the agent\'s own credential never reaches the upstream: only Bearer tokens of the authorization server', () => {
    assert.ok(upstream.authorizations.length > 0);
    for (const a of upstream.authorizations) {
      assert.ok(!a.includes(gw.ownerKey), 'the gateway API key was forwarded');
      assert.ok(a === '' || /^Bearer [\w-]+\.[\w-]+\.[\w-]+$/.test(a), `unexpected Authorization: ${a.slice(0, 20)}`);
    }
  });

  test('a token is fetched once and kept: ten calls, no new token request', async () => {
    const before = as.tokenRequests.length;
    for (let i = 0; i < 10; i++) await client.callTool({ name: 'guarded__read', arguments: {} });
    assert.equal(as.tokenRequests.length, before);
  });

  test('403 insufficient_scope steps up: a token with the added scope, then the call succeeds', async () => {
    const before = as.tokenRequests.length;
    assert.equal(resultText(await client.callTool({ name: 'guarded__write', arguments: {} })), 'write done');
    assert.equal(as.tokenRequests.length, before + 1);
    assert.deepEqual(as.tokenRequests.at(-1)?.scope?.split(' ').sort(), ['mcp:read', 'mcp:write']);
  });

  test('a scope the authorization server will not grant fails the call (upstream_auth_failed), a bounded number of tries', async () => {
    const before = as.tokenRequests.length;
    const err = await rpcError(client.callTool({ name: 'guarded__never', arguments: {} }));
    assert.equal(err.code, -32066);
    assert.ok(as.tokenRequests.length - before <= 2, `token requests: ${String(as.tokenRequests.length - before)}`);
    // The connector still works for what its token allows.
    assert.equal(resultText(await client.callTool({ name: 'guarded__read', arguments: {} })), 'read done');
  });

  test('the client secret is write-only: the admin API and the CLI show that one is held, never its value', async () => {
    const res = await api(gw, gw.ownerKey, 'GET', '/connectors');
    assert.equal(res.status, 200);
    assert.ok(!res.text.includes(CLIENT_SECRET));
    const shown = (res.body as { connectors: { name: string; oauth?: { clientId: string; clientSecret: boolean } }[] }).connectors.find((c) => c.name === 'guarded');
    assert.deepEqual(shown?.oauth, { mode: 'client_credentials', clientId: CLIENT_ID, clientSecret: true });
    const listed = await runCli(gw, ['connectors', 'list']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.ok(listed.stdout.includes(`oauth=${CLIENT_ID}`));
    assert.ok(!listed.stdout.includes(CLIENT_SECRET));
    const stored = JSON.stringify(await gw.app.services.store.getConnectorByName(gw.org.id, 'guarded'));
    assert.ok(!stored.includes(CLIENT_SECRET), 'the secret is sealed at rest');
    assert.ok(!gw.logs.some((l) => l.includes(CLIENT_SECRET)), 'the secret is never logged');
  });
});

describe('upstream OAuth: refusals', () => {
  let gw: Gateway;
  let as: AuthServer;
  let client: Client;
  const upstreams: ProtectedUpstream[] = [];
  const open = ['initialize', 'tools/list'];
  before(async () => {
    as = await startAuthServer();
    gw = await startGateway();
    client = await connect(gw.url, gw.ownerKey);
  });
  after(async () => {
    await client.close();
    await Promise.all([gw.close(), ...upstreams.map((u) => u.close())]);
    await as.close();
  });

  async function guarded(name: string, options: Parameters<typeof startProtectedUpstream>[0], secret = CLIENT_SECRET, issuer?: string): Promise<ProtectedUpstream> {
    const upstream = await startProtectedUpstream({ openMethods: open, ...options });
    upstreams.push(upstream);
    await addAndConnect(gw, { name, type: 'http', url: upstream.url, headers: [], oauth: { clientId: CLIENT_ID, clientSecret: secret, issuer } });
    await waitFor(async () => (await client.listTools()).tools.some((t) => t.name === `${name}__read`), 10_000, `${name} listed`);
    return upstream;
  }

  test('a wrong client secret: upstream_auth_failed, naming the OAuth error only, never the secret', async () => {
    const wrong = 'not-the-secret-at-all-zz';
    await guarded('wrongsecret', { authorizationServer: as.issuer }, wrong);
    const err = await rpcError(client.callTool({ name: 'wrongsecret__read', arguments: {} }));
    assert.equal(err.code, -32066);
    assert.match(err.message, /invalid_client/);
    assert.ok(!err.message.includes(wrong));
    assert.ok(!gw.logs.some((l) => l.includes(wrong)));
  });

  test('metadata that names another resource is refused before any token is asked for', async () => {
    const before = as.tokenRequests.length;
    await guarded('mismatch', { authorizationServer: as.issuer, metadataResource: 'http://127.0.0.1:1/elsewhere' });
    const err = await rpcError(client.callTool({ name: 'mismatch__read', arguments: {} }));
    assert.equal(err.code, -32066);
    assert.equal(as.tokenRequests.length, before);
  });

  test('an authorization server learned from metadata is an egress destination: a private address is refused', async () => {
    await guarded('privateas', { authorizationServer: 'http://10.255.255.1:9', trustedIssuer: as.issuer });
    const err = await rpcError(client.callTool({ name: 'privateas__read', arguments: {} }));
    assert.equal(err.code, -32050);
    assert.match(err.message, /Destination refused: the address is private/);
  });

  test('an upstream naming another authorization server than the connector\'s issuer gets no credentials', async () => {
    const before = as.tokenRequests.length;
    await guarded('otheras', { authorizationServer: as.issuer }, CLIENT_SECRET, 'http://127.0.0.1:1');
    const err = await rpcError(client.callTool({ name: 'otheras__read', arguments: {} }));
    assert.equal(err.code, -32066);
    assert.equal(as.tokenRequests.length, before);
  });

  test('changing the URL of an OAuth connector without its OAuth settings again is refused', async () => {
    const listed = await api(gw, gw.ownerKey, 'GET', '/connectors');
    const id = (listed.body as { connectors: { id: string; name: string }[] }).connectors.find((c) => c.name === 'mismatch')?.id ?? '';
    const res = await api(gw, gw.ownerKey, 'PATCH', `/connectors/${id}`, { url: 'http://127.0.0.1:2/mcp' });
    assert.equal(res.status, 400, res.text);
    assert.ok(AS_SCOPES.length > 0);
  });
});
