// Upstream OAuth per user, end to end: a real authorization server (oidc-provider: authorization code + PKCE,
// resource indicators, refresh tokens, revocation) and an MCP server that verifies its tokens (audience = its URL,
// subject = the person). Each member connects their own account through the browser (the test plays it: the
// gateway's connect route, the server's consent, the gateway's callback); their calls carry their own token, never
// another's; a member without a connection is told where to connect; tokens are refreshed before they expire,
// and revoked and deleted when the member disconnects or is deactivated.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { addConnector, connectorIdByName, updateConnector } from '../../src/services/connectors.ts';
import { operatorActor } from '../../src/services/context.ts';
import { createKey } from '../../src/services/keys.ts';
import { addMember } from '../../src/services/members.ts';
import { endUserAccess } from '../../src/services/scim-roles.ts';
import { upstreamTokenBinding, UserOAuth } from '../../src/gateway/upstream/oauth/user-tokens.ts';
import { api } from './admin-client.ts';
import { connect, type Gateway, rawPost, resultText, rpcError, runCli, startGateway, waitFor } from './harness.ts';
import { startProtectedUpstream, startUserAuthServer, USER_CLIENT_ID, USER_CLIENT_SECRET, type ProtectedUpstream, type UserAuthServer } from '../fixtures/oauth-upstream.ts';

interface Person {
  readonly name: string;
  readonly userId: string;
  readonly key: string;
  client: Client;
}

/** Access tokens live 62 s: the gateway refreshes a token in its last minute, so two seconds on it is due. */
const TOKEN_TTL_S = 62;

describe('upstream OAuth per user', () => {
  let gw: Gateway;
  let as: UserAuthServer;
  let upstream: ProtectedUpstream;
  let connectorId: string;
  let base: string;
  const people: Record<'alice' | 'bob', Person> = {} as Record<'alice' | 'bob', Person>;

  /** The person's browser: connect route -> authorization server (login, consent, as `account`) -> gateway callback. */
  async function browserConnect(
    p: Person,
    connector = connectorId,
    otherBrowser = false,
    callback?: (query: URLSearchParams, cookie: string) => Promise<{ status: number; body: unknown }>,
  ): Promise<{ status: number; body: unknown }> {
    const start = await fetch(`${base}/api/v1/connectors/${connector}/oauth/connect`, { headers: { authorization: `Bearer ${p.key}` }, redirect: 'manual' });
    assert.equal(start.status, 302, await start.text());
    const gatewayCookie = start.headers.getSetCookie().map((c) => c.split(';')[0] ?? '').join('; ');
    assert.match(gatewayCookie, /^__Host-gatehouse-upstream-connect=[\w-]{43}$/);
    let url = start.headers.get('location') ?? '';
    const first = new URL(url);
    assert.equal(first.origin, as.issuer, 'the browser is sent to the authorization server');
    assert.equal(first.searchParams.get('code_challenge_method'), 'S256');
    assert.match(first.searchParams.get('code_challenge') ?? '', /^[\w-]{43}$/);
    assert.equal(first.searchParams.get('resource'), upstream.url, 'the resource indicator names the upstream (RFC 8707)');
    assert.equal(first.searchParams.get('redirect_uri'), `${base}/auth/upstream/callback`);
    const jar = new Map<string, string>();
    for (let hops = 0; new URL(url).origin === as.issuer; hops++) {
      assert.ok(hops < 10, 'too many redirects at the authorization server');
      const res = await fetch(url, { redirect: 'manual', headers: { 'x-test-account': p.name, cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') } });
      for (const c of res.headers.getSetCookie()) {
        const [pair = ''] = c.split(';');
        const eq = pair.indexOf('=');
        jar.set(pair.slice(0, eq), pair.slice(eq + 1));
      }
      await res.body?.cancel();
      const next = res.headers.get('location');
      assert.ok(next !== null, `the authorization server answered ${String(res.status)} without a redirect`);
      url = new URL(next, url).href;
    }
    assert.ok(url.startsWith(`${base}/auth/upstream/callback?`), url);
    if (callback !== undefined) return callback(new URL(url).searchParams, gatewayCookie.slice(gatewayCookie.indexOf('=') + 1));
    // Another browser than the one that started the connect comes back without (or with another) cookie.
    const done = await fetch(url, { redirect: 'manual', headers: { cookie: otherBrowser ? '__Host-gatehouse-upstream-connect=planted' : gatewayCookie } });
    return { status: done.status, body: (await done.json()) };
  }

  /** Another replica's (or a restarted gateway's) engine: the same store, vault and egress, nothing in memory. */
  function freshEngine(): UserOAuth {
    const s = gw.app.services;
    return new UserOAuth({
      store: s.store, vault: s.vault, egress: s.egress, audit: s.audit, base: () => base, clientMetadataUrl: undefined,
      openSecret: () => Promise.reject(new Error('no configured secret')), connector: (orgId, id) => s.store.getConnector(orgId, id), onConnected: () => undefined,
    });
  }

  before(async () => {
    gw = await startGateway();
    base = new URL(gw.url).origin;
    as = await startUserAuthServer(`${base}/auth/upstream/callback`, TOKEN_TTL_S);
    upstream = await startProtectedUpstream({ authorizationServer: as.issuer, challengeScope: 'mcp:read mcp:write' });
    await addConnector(gw.app.services, operatorActor('test'), {
      orgId: gw.org.id, name: 'mine', type: 'http', url: upstream.url, headers: [], oauth: { mode: 'user', clientId: USER_CLIENT_ID, clientSecret: USER_CLIENT_SECRET },
    });
    await gw.app.federation.sync();
    connectorId = await connectorIdByName(gw.app.services, gw.org.id, 'mine');
    for (const name of ['alice', 'bob'] as const) {
      const m = await addMember(gw.app.services, operatorActor('test'), gw.org.id, { email: `${name}@user-oauth.example`, role: 'member' });
      const { key } = await createKey(gw.app.services, operatorActor('test'), { orgId: gw.org.id, name: `${name}-key`, role: 'member', scopes: ['*'], userId: m.userId });
      people[name] = { name, userId: m.userId, key, client: await connect(gw.url, key) };
    }
  });
  after(async () => {
    await Promise.all(Object.values(people).map((p) => p.client.close()));
    await Promise.all([gw.close(), upstream.close()]);
    await as.close();
  });

  test('before anyone connects, a call is refused with the connect URL (JSON-RPC -32065)', async () => {
    const err = await rpcError(people.alice.client.callTool({ name: 'mine__read', arguments: {} }));
    assert.equal(err.code, -32065);
    assert.ok(err.message.includes(`${base}/api/v1/connectors/${connectorId}/oauth/connect`), err.message);
  });

  test('alice connects through her browser; her calls carry her own token (subject alice, audience the upstream)', async () => {
    const done = await browserConnect(people.alice);
    assert.deepEqual(done, { status: 200, body: { connected: 'mine' } });
    assert.deepEqual(as.grants, ['authorization_code']);
    const state = await api(gw, people.alice.key, 'GET', `/connectors/${connectorId}/oauth/connection`);
    assert.equal(state.status, 200);
    assert.equal((state.body as { connected: boolean }).connected, true);
    assert.ok(!state.text.includes('eyJ'), 'no token in the answer');
    // The connector's listing comes up once someone has connected.
    await waitFor(async () => (await people.alice.client.listTools()).tools.some((t) => t.name === 'mine__read'), 10_000);
    assert.equal(resultText(await people.alice.client.callTool({ name: 'mine__read', arguments: {} })), 'read done');
    const call = upstream.verified.filter((v) => v.method === 'tools/call');
    assert.deepEqual(call, [{ method: 'tools/call', tool: 'read', sub: 'alice' }]);
  });

  test("bob, not connected, never gets alice's token: his call is refused with the connect URL", async () => {
    const before = upstream.verified.length;
    const err = await rpcError(people.bob.client.callTool({ name: 'mine__read', arguments: {} }));
    assert.equal(err.code, -32065);
    assert.match(err.message, /needs your own authorization/);
    assert.ok(err.message.includes(`/api/v1/connectors/${connectorId}/oauth/connect`), err.message);
    assert.ok(!upstream.verified.slice(before).some((v) => v.method === 'tools/call'), 'no call reached the upstream with a token');
  });

  test("a key that acts for nobody (the organisation's owner key) never borrows a member's token", async () => {
    const owner = await connect(gw.url, gw.ownerKey);
    try {
      const before = upstream.verified.length;
      const err = await rpcError(owner.callTool({ name: 'mine__read', arguments: {} }));
      assert.equal(err.code, -32065);
      assert.match(err.message, /acts for no person/);
      assert.ok(!upstream.verified.slice(before).some((v) => v.method === 'tools/call'), "a call reached the upstream with alice's token");
    } finally {
      await owner.close();
    }
  });

  test('once bob connects, each person\'s calls carry their own token', async () => {
    assert.equal((await browserConnect(people.bob)).status, 200);
    const before = upstream.verified.length;
    assert.equal(resultText(await people.bob.client.callTool({ name: 'mine__write', arguments: {} })), 'write done');
    assert.equal(resultText(await people.alice.client.callTool({ name: 'mine__read', arguments: {} })), 'read done');
    assert.equal(resultText(await people.bob.client.callTool({ name: 'mine__read', arguments: {} })), 'read done');
    const calls = upstream.verified.slice(before).filter((v) => v.method === 'tools/call');
    assert.deepEqual(calls.map((c) => `${c.tool ?? ''}:${c.sub ?? ''}`), ['write:bob', 'read:alice', 'read:bob']);
  });

  test("a call without a session (MCP 2026-07-28, stateless) never goes with the latest member's token", async () => {
    const before = upstream.verified.length;
    const meta = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {}, 'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' } };
    const res = await rawPost(gw.url, { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'mine__read', arguments: {}, _meta: meta } }, {
      authorization: `Bearer ${people.alice.key}`, 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'mine__read',
    });
    const body = (await res.json()) as { error?: { code: number; message: string }; result?: unknown };
    assert.equal(body.error?.code, -32065, JSON.stringify(body));
    assert.match(body.error.message, /within a session/);
    assert.ok(!upstream.verified.slice(before).some((v) => v.method === 'tools/call'), "a stateless call reached the upstream with someone's token");
  });

  test("an upstream that echoes the person's token back: replaced before the agent sees it (echo scrub)", async () => {
    const result = await people.alice.client.callTool({ name: 'mine__echo', arguments: {} });
    const sent = upstream.authorizations.at(-1)?.slice(7) ?? '';
    assert.ok(sent.length > 20);
    const shown = JSON.stringify(result);
    assert.ok(!shown.includes(sent), 'the token reached the agent');
    assert.ok(!shown.includes(Buffer.from(sent).toString('base64')), 'the token reached the agent in base64');
    assert.match(shown, /\[REDACTED:connector-credential\]/);
  });

  test('the tokens are sealed at rest and never logged; the agent\'s key never reaches the upstream', async () => {
    const row = await gw.app.services.store.upstreamTokens.getUpstreamToken(gw.org.id, people.alice.userId, connectorId);
    assert.ok(row !== undefined);
    const sent = upstream.authorizations.filter((a) => a.startsWith('Bearer ')).map((a) => a.slice(7));
    assert.ok(sent.length > 0);
    for (const token of sent) {
      assert.ok(!row.sealed.includes(token) && !JSON.stringify(row).includes(token.split('.')[1] ?? token));
      assert.ok(!gw.logs.some((l) => l.includes(token)), 'an upstream token was logged');
    }
    for (const p of Object.values(people)) assert.ok(!upstream.authorizations.some((a) => a.includes(p.key)), 'a gateway key was forwarded');
    // Sealed for (org, alice, connector): the ciphertext does not open as bob's.
    await assert.rejects(gw.app.services.vault.open(gw.org.id, row.sealed, upstreamTokenBinding(gw.org.id, people.bob.userId, connectorId)));
  });

  test('a token in its last minute is refreshed before the call (refresh_token grant), and the call goes through', async () => {
    await new Promise((r) => setTimeout(r, 2_500));
    const refreshes = as.grants.filter((g) => g === 'refresh_token').length;
    const sentBefore = upstream.authorizations.at(-1);
    assert.equal(resultText(await people.alice.client.callTool({ name: 'mine__read', arguments: {} })), 'read done');
    assert.ok(as.grants.filter((g) => g === 'refresh_token').length > refreshes, `grants: ${as.grants.join(',')}`);
    assert.notEqual(upstream.authorizations.at(-1), sentBefore, 'the call carried the new token');
    assert.equal(upstream.verified.at(-1)?.sub, 'alice');
  });

  test('alice disconnects: her refresh token is revoked at the server (RFC 7009) and her tokens deleted', async () => {
    const row = await gw.app.services.store.upstreamTokens.getUpstreamToken(gw.org.id, people.alice.userId, connectorId);
    assert.ok(row !== undefined);
    const opened = JSON.parse(await gw.app.services.vault.open(gw.org.id, row.sealed, upstreamTokenBinding(gw.org.id, people.alice.userId, connectorId))) as { refresh?: string };
    assert.ok(opened.refresh !== undefined, 'offline_access gave a refresh token');
    assert.equal(await as.active(opened.refresh), true);
    const res = await api(gw, people.alice.key, 'DELETE', `/connectors/${connectorId}/oauth/connection`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { removed: true, revoked: true });
    assert.deepEqual(as.revocations.at(-1), { hint: 'refresh_token', status: 200 });
    assert.equal(await as.active(opened.refresh), false, 'the server no longer honours it');
    assert.equal(await gw.app.services.store.upstreamTokens.getUpstreamToken(gw.org.id, people.alice.userId, connectorId), undefined);
    const err = await rpcError(people.alice.client.callTool({ name: 'mine__read', arguments: {} }));
    assert.equal(err.code, -32065);
    // Bob's connection is his own: still there.
    assert.equal(resultText(await people.bob.client.callTool({ name: 'mine__read', arguments: {} })), 'read done');
  });

  test("bob deactivated (SCIM's end of access): his tokens are revoked and deleted too", async () => {
    const revocations = as.revocations.length;
    await endUserAccess({ ...gw.app.services, endUserSessions: () => Promise.resolve() }, operatorActor('scim-test'), gw.org.id, people.bob.userId);
    assert.equal(as.revocations.length, revocations + 1);
    assert.equal(as.revocations.at(-1)?.status, 200);
    assert.equal(await gw.app.services.store.upstreamTokens.getUpstreamToken(gw.org.id, people.bob.userId, connectorId), undefined);
  });

  test('the connector pointed at another URL: tokens obtained for the old one are never sent there', async () => {
    assert.equal((await browserConnect(people.alice)).status, 200);
    assert.equal(resultText(await people.alice.client.callTool({ name: 'mine__read', arguments: {} })), 'read done');
    const issued = new Set(upstream.authorizations.filter((a) => a.startsWith('Bearer ')));
    const other = await startProtectedUpstream({ authorizationServer: as.issuer, challengeScope: 'mcp:read' });
    try {
      await updateConnector(gw.app.services, operatorActor('test'), gw.org.id, connectorId, { url: other.url, oauth: { mode: 'user', clientId: USER_CLIENT_ID, clientSecret: USER_CLIENT_SECRET } });
      await gw.app.federation.sync();
      await gw.app.federation.settled();
      const err = await rpcError(people.alice.client.callTool({ name: 'mine__read', arguments: {} }));
      assert.equal(err.code, -32065, err.message);
      await waitFor(async () => (await gw.app.services.store.upstreamTokens.getUpstreamToken(gw.org.id, people.alice.userId, connectorId)) === undefined, 10_000, 'the old tokens dropped');
      assert.ok(!other.authorizations.some((a) => issued.has(a)), 'a token obtained for the old URL reached the new one');
      assert.ok(!other.authorizations.some((a) => a.startsWith('Bearer ')));
    } finally {
      await other.close();
    }
  });

  test('a dynamically registered client survives a restart: a new engine (empty memory) refreshes with it', async () => {
    await addConnector(gw.app.services, operatorActor('test'), { orgId: gw.org.id, name: 'reg', type: 'http', url: upstream.url, headers: [], oauth: { mode: 'user' } });
    await gw.app.federation.sync();
    const regId = await connectorIdByName(gw.app.services, gw.org.id, 'reg');
    assert.equal((await browserConnect(people.alice, regId)).status, 200);
    const connector = await gw.app.services.store.getConnector(gw.org.id, regId);
    assert.ok(connector !== undefined);
    const restarted = freshEngine();
    const refreshes = as.grants.filter((g) => g === 'refresh_token').length;
    const held = await restarted.refresh(connector, people.alice.userId, { keyId: null, user: people.alice.userId });
    assert.ok(held !== undefined, 'the refresh was refused: the tokens went to another client than the one they were issued to');
    assert.equal(as.grants.filter((g) => g === 'refresh_token').length, refreshes + 1);
    assert.deepEqual(await restarted.disconnect(connector, people.alice.userId), { removed: true, revoked: true });
  });

  test('a connect started on one replica is finished by another (a fresh engine over the same store)', async () => {
    const regId = await connectorIdByName(gw.app.services, gw.org.id, 'reg');
    const other = freshEngine();
    const done = await browserConnect(people.alice, regId, false, async (query, cookie) => ({ status: 200, body: await other.finish(query, cookie) }));
    assert.deepEqual(done.body, { orgId: gw.org.id, connector: 'reg' });
    const connector = await gw.app.services.store.getConnector(gw.org.id, regId);
    assert.ok(connector !== undefined);
    assert.ok((await other.held(connector, people.alice.userId, { keyId: null, user: people.alice.userId })) !== undefined);
    assert.deepEqual(await other.disconnect(connector, people.alice.userId), { removed: true, revoked: true });
  });

  test("a connect link opened in someone else's browser does not put their upstream account under the starter's name", async () => {
    const regId = await connectorIdByName(gw.app.services, gw.org.id, 'reg');
    assert.equal(await gw.app.services.store.upstreamTokens.getUpstreamToken(gw.org.id, people.alice.userId, regId), undefined);
    const done = await browserConnect(people.alice, regId, true);
    assert.equal(done.status, 403);
    assert.match(JSON.stringify(done.body), /started in another browser/);
    assert.equal(await gw.app.services.store.upstreamTokens.getUpstreamToken(gw.org.id, people.alice.userId, regId), undefined);
  });

  test('a member removed from the organisation: their upstream tokens are revoked and deleted', async () => {
    const regId = await connectorIdByName(gw.app.services, gw.org.id, 'reg');
    const m = await addMember(gw.app.services, operatorActor('test'), gw.org.id, { email: 'carol@user-oauth.example', role: 'member' });
    const { key } = await createKey(gw.app.services, operatorActor('test'), { orgId: gw.org.id, name: 'carol-key', role: 'member', scopes: ['*'], userId: m.userId });
    const carol: Person = { name: 'carol', userId: m.userId, key, client: await connect(gw.url, key) };
    try {
      assert.equal((await browserConnect(carol, regId)).status, 200);
      assert.ok((await gw.app.services.store.upstreamTokens.getUpstreamToken(gw.org.id, carol.userId, regId)) !== undefined);
      const revocations = as.revocations.length;
      const removed = await api(gw, gw.ownerKey, 'DELETE', `/members/${carol.userId}`);
      assert.equal(removed.status, 204, removed.text);
      assert.equal(as.revocations.length, revocations + 1);
      assert.deepEqual(as.revocations.at(-1), { hint: 'refresh_token', status: 200 });
      assert.equal(await gw.app.services.store.upstreamTokens.getUpstreamToken(gw.org.id, carol.userId, regId), undefined);
    } finally {
      await carol.client.close();
    }
  });

  test('a member removed while connecting gets nothing stored when the browser comes back', async () => {
    const regId = await connectorIdByName(gw.app.services, gw.org.id, 'reg');
    const m = await addMember(gw.app.services, operatorActor('test'), gw.org.id, { email: 'dave@user-oauth.example', role: 'member' });
    const { key } = await createKey(gw.app.services, operatorActor('test'), { orgId: gw.org.id, name: 'dave-key', role: 'member', scopes: ['*'], userId: m.userId });
    const dave: Person = { name: 'dave', userId: m.userId, key, client: await connect(gw.url, key) };
    try {
      const done = await browserConnect(dave, regId, false, async (query, cookie) => {
        assert.equal((await api(gw, gw.ownerKey, 'DELETE', `/members/${dave.userId}`)).status, 204);
        const res = await fetch(`${base}/auth/upstream/callback?${query.toString()}`, { headers: { cookie: `__Host-gatehouse-upstream-connect=${cookie}` } });
        return { status: res.status, body: (await res.json()) };
      });
      assert.equal(done.status, 403);
      assert.equal(await gw.app.services.store.upstreamTokens.getUpstreamToken(gw.org.id, dave.userId, regId), undefined);
    } finally {
      await dave.client.close();
    }
  });

  test('the CLI adds a per-user connector and lists the mode, never a secret', async () => {
    const added = await runCli(gw, ['connectors', 'add', 'cli-mine', '--url', upstream.url, '--oauth-mode', 'user', '--oauth-scope', 'mcp:read']);
    assert.equal(added.code, 0, added.stderr);
    const refused = await runCli(gw, ['connectors', 'add', 'cli-bad', '--url', upstream.url, '--oauth-mode', 'user', '--oauth-client-secret', 'x']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /needs --oauth-client-id/);
    const listed = await runCli(gw, ['connectors', 'list']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.ok(listed.stdout.includes(`oauth(per user)=${USER_CLIENT_ID}`), listed.stdout);
    assert.ok(listed.stdout.includes('oauth(per user)=registered (mcp:read)'), listed.stdout);
    assert.ok(!listed.stdout.includes(USER_CLIENT_SECRET));
  });

  test('a connect link works once: the callback replayed is refused, and so is a made-up state', async () => {
    const bad = await fetch(`${base}/auth/upstream/callback?state=made-up&code=x`);
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /unknown, used or expired/);
    const viewer = await api(gw, gw.ownerKey, 'GET', `/connectors/${connectorId}/oauth/connect`);
    assert.equal(viewer.status, 400, 'a key acting for nobody has no account to connect');
  });
});
