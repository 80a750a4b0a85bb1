// The dashboard's side of upstream OAuth per user, in Debian's Chromium: a member presses "Connect your account" on a
// per-user connector, the browser goes through a real authorization server (oidc-provider) and comes back to the
// connectors page connected; their agent's calls then carry their own token; "Disconnect" revokes and deletes it.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { addConnector, connectorIdByName } from '../../src/services/connectors.ts';
import { operatorActor } from '../../src/services/context.ts';
import { createKey } from '../../src/services/keys.ts';
import { startProtectedUpstream, startUserAuthServer, USER_CLIENT_ID, USER_CLIENT_SECRET, type ProtectedUpstream, type UserAuthServer } from '../fixtures/oauth-upstream.ts';
import { api, makeOrg, type TestOrg } from './admin-client.ts';
import { connect, startGateway, waitFor, type Gateway } from './harness.ts';
import { checkPage, launchChromium, openSignedIn, setPasswords, type UiPage } from './ui-browser.ts';

const PASSWORD = 'correct horse battery staple 42';

describe('dashboard: connecting your own account at a per-user OAuth upstream', () => {
  let gw: Gateway;
  let base: string;
  let org: TestOrg;
  let as: UserAuthServer;
  let upstream: ProtectedUpstream;
  let connectorId: string;
  let browser: Browser;
  let member: UiPage;
  let agent: Client;

  before(async () => {
    gw = await startGateway();
    base = new URL(gw.url).origin;
    org = await makeOrg(gw, 'uoa');
    as = await startUserAuthServer(`${base}/auth/upstream/callback`);
    upstream = await startProtectedUpstream({ authorizationServer: as.issuer, challengeScope: 'mcp:read mcp:write' });
    await addConnector(gw.app.services, operatorActor('test'), {
      orgId: org.id, name: 'mine', type: 'http', url: upstream.url, headers: [], oauth: { mode: 'user', clientId: USER_CLIENT_ID, clientSecret: USER_CLIENT_SECRET },
    });
    await gw.app.federation.sync();
    connectorId = await connectorIdByName(gw.app.services, org.id, 'mine');
    await setPasswords(gw, org, ['member'], PASSWORD);
    const { key } = await createKey(gw.app.services, operatorActor('test'), { orgId: org.id, name: 'member-agent', role: 'member', scopes: ['*'], userId: org.people.member.userId });
    agent = await connect(gw.url, key);
    browser = await launchChromium();
    member = await openSignedIn(browser, base, org, 'member', PASSWORD);
    // The test authorization server signs in whoever this header names (its consent is automatic).
    await member.context.setExtraHTTPHeaders({ 'x-test-account': 'member-of-uoa' });
  });
  after(async () => {
    await agent.close();
    await browser.close();
    await Promise.all([gw.close(), upstream.close()]);
    await as.close();
  });

  test('connect through the authorization server, come back connected, and the agent calls with that account', async () => {
    const { page } = member;
    await page.getByRole('link', { name: 'Connectors' }).click();
    const connectLink = page.getByRole('link', { name: 'Connect your account at mine' });
    await connectLink.waitFor();
    await checkPage(member, 'connectors-oauth-connect');
    await connectLink.click();
    await page.waitForURL(`${base}/ui/#/connectors`);
    await page.getByText('Your account at “mine” is connected').waitFor();
    await page.getByTestId('oauth-account').getByText('connected').waitFor();
    await checkPage(member, 'connectors-oauth-connected');
    assert.ok(!(await page.content()).includes('eyJ'), 'no token reaches the page');

    await waitFor(async () => (await agent.listTools()).tools.some((t) => t.name === 'mine__read'), 10_000);
    const result = (await agent.callTool({ name: 'mine__read', arguments: {} })) as { content: { text?: string }[] };
    assert.equal(result.content[0]?.text, 'read done');
    assert.deepEqual(upstream.verified.filter((v) => v.method === 'tools/call').at(-1), { method: 'tools/call', tool: 'read', sub: 'member-of-uoa' });
  });

  test('disconnect revokes the tokens at the server and deletes them; the link to connect is back', async () => {
    const { page } = member;
    await page.getByRole('button', { name: 'Disconnect your account at mine' }).click();
    await page.getByText(/Your account at “mine” is disconnected/).waitFor();
    await page.getByRole('link', { name: 'Connect your account at mine' }).waitFor();
    const state = await api(gw, org.people.member.key, 'GET', `/connectors/${connectorId}/oauth/connection`);
    assert.equal((state.body as { connected: boolean }).connected, false);
    assert.ok(as.revocations.length >= 1, 'revoked at the authorization server');
    assert.deepEqual(member.violations, []);
  });
});
