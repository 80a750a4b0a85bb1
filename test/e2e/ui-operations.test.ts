// The dashboard's operations pages in real Chromium against a real gateway with a real stdio upstream: virtual servers
// (created from the live catalog, their members edited, removed, and an agent on the endpoint seeing only those tools),
// approvals (a held call shown with its digest, approved and its retry run; one denied, and its retry asks afresh),
// guardrails (the organisation's policy, connector and tool overrides, deny rules: added, enforced and removed), the
// vault's status for owners only, connector health with stdio connectors shown as the operator's, SCIM (the token shown
// once) and OAuth issuers. And the refusals: a viewer gets no button that would change anything (the API still
// refuses), and markup from users and agents stays text.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Browser } from 'playwright-core';
import { operatorActor } from '../../src/services/context.ts';
import { addConnector } from '../../src/services/connectors.ts';
import { api, makeOrg, type TestOrg } from './admin-client.ts';
import { addAndConnect, connect, startGateway, stdioFixture, waitFor, type Gateway } from './harness.ts';
import { checkPage, launchChromium, openSignedIn, setPasswords, type UiPage } from './ui-browser.ts';

const PASSWORD = 'harbour lantern quartz 73';
const MARKUP = '<img src=x onerror=window.__xss=1>';
const VAULTED = 'fx-token-9c41d7e2b8a6';
const APPROVAL_REQUIRED = -32034;
const DENY_RULE = -32041;

async function refusal(p: Promise<unknown>): Promise<McpError> {
  const r = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(r instanceof McpError, `expected a refusal, got ${JSON.stringify(r)}`);
  return r;
}

function firstText(r: unknown): string {
  const c = (r as { content: { type: string; text?: string }[] }).content[0];
  return c?.text ?? '';
}

describe('dashboard: virtual servers, approvals, guardrails, vault, connector health, SCIM, OAuth issuers', () => {
  let gw: Gateway;
  let base: string;
  let acme: TestOrg;
  let browser: Browser;
  let admin: UiPage;
  let agent: Client;
  const clients: Client[] = [];

  before(async () => {
    gw = await startGateway();
    base = gw.url.replace(/\/mcp$/, '');
    acme = await makeOrg(gw, 'acme');
    await setPasswords(gw, acme, ['owner', 'admin', 'viewer'], PASSWORD);
    // A stdio connector (the operator's) with a sealed secret, so the vault has a data key with a secret under it.
    await addAndConnect(gw, stdioFixture('fx', [{ name: 'FX_TOKEN', value: VAULTED, secret: true }]), acme.id);
    for (const pattern of ['fx/add', 'fx/add_tool']) {
      const set = await api(gw, acme.ownerKey, 'PUT', '/traffic/approvals', { pattern, required: true });
      assert.equal(set.status, 200, set.text);
    }
    agent = await connect(gw.url, acme.people.member.key, 'ui-agent');
    clients.push(agent);
    browser = await launchChromium();
    admin = await openSignedIn(browser, base, acme, 'admin', PASSWORD);
  });
  after(async () => {
    for (const c of clients) await c.close();
    await browser.close();
    await gw.close();
  });

  test('virtual servers: created from the catalog, members edited, the endpoint serves only them, deleted; markup stays text', async () => {
    const { page } = admin;
    await page.getByRole('link', { name: 'Virtual servers' }).click();
    await page.getByText('No virtual servers yet.').waitFor();
    await page.getByRole('button', { name: 'Create virtual server' }).click();
    const form = page.getByRole('form', { name: 'Create a virtual server' });
    await form.getByLabel('Name', { exact: true }).fill('reports');
    await form.getByLabel('Description').fill(MARKUP);
    await form.getByLabel('fx/echo', { exact: true }).check();
    await checkPage(admin, 'servers-create');
    await form.getByRole('button', { name: 'Create server' }).click();
    await page.getByText('Virtual server “reports” saved.').waitFor();
    assert.equal(await page.getByTestId('server-description').textContent(), MARKUP);
    assert.equal(await page.locator('main img').count(), 0, 'the description made no element');
    assert.equal(await page.evaluate('window.__xss'), undefined, 'no script ran');
    assert.equal(await page.getByTestId('server-endpoint').textContent(), `${base}/servers/reports/mcp`);
    assert.match((await page.locator('caption').textContent()) ?? '', /Pacific\/Auckland/);
    await checkPage(admin, 'servers');

    // One that selects nothing, and a second one with the same name, are refused with the gateway's own words.
    await page.getByRole('button', { name: 'Create virtual server' }).click();
    const again = page.getByRole('form', { name: 'Create a virtual server' });
    await again.getByLabel('Name', { exact: true }).fill('reports');
    await again.getByRole('button', { name: 'Create server' }).click();
    await again.getByRole('alert').getByText('A virtual server must select something').waitFor();
    await again.getByLabel('fx/add', { exact: true }).check();
    await again.getByRole('button', { name: 'Create server' }).click();
    await again.getByRole('alert').getByText("A virtual server named 'reports' already exists").waitFor();
    await again.getByRole('button', { name: 'Cancel' }).click();

    await page.getByRole('button', { name: 'Edit reports' }).click();
    const edit = page.getByRole('form', { name: 'Edit reports' });
    assert.equal(await edit.getByLabel('Name', { exact: true }).isDisabled(), true, 'the name cannot change');
    await edit.getByLabel('fx/echo', { exact: true }).uncheck();
    await edit.getByLabel('fx/add', { exact: true }).check();
    await edit.getByLabel('Other tool patterns (one a line)').fill('fx/add_*');
    await edit.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText('Virtual server “reports” saved.').waitFor();
    const stored = (await api(gw, acme.ownerKey, 'GET', '/servers/reports')).body as { tools: string[]; description: string };
    assert.deepEqual([...stored.tools].sort(), ['fx/add', 'fx/add_*']);
    assert.equal(stored.description, MARKUP);

    await gw.app.federation.sync(); // the replica follows virtual servers by revision; this skips the wait for its poll
    const scoped = await connect(`${base}/servers/reports/mcp`, acme.people.member.key, 'ui-virtual');
    clients.push(scoped);
    assert.deepEqual((await scoped.listTools()).tools.map((t) => t.name).sort(), ['fx__add', 'fx__add_tool']);

    await page.getByRole('button', { name: 'Create virtual server' }).click();
    const other = page.getByRole('form', { name: 'Create a virtual server' });
    await other.getByLabel('Name', { exact: true }).fill('scratch');
    await other.getByLabel('fx — every tool', { exact: true }).check();
    await other.getByRole('button', { name: 'Create server' }).click();
    await page.getByText('Virtual server “scratch” saved.').waitFor();
    await page.getByRole('button', { name: 'Delete scratch' }).click();
    await page.getByText('Virtual server “scratch” deleted.').waitFor();
    await page.getByRole('button', { name: 'Delete scratch' }).waitFor({ state: 'detached' });
    assert.equal((await api(gw, acme.ownerKey, 'GET', '/servers/scratch')).status, 404);
    assert.deepEqual(admin.violations, []);
  });

  test('approvals: a held call is shown with its digest and approved, its retry runs once; markup in arguments stays text and a denied call does not run', async () => {
    const { page } = admin;
    await page.getByRole('link', { name: 'Approvals' }).click();
    await page.getByText('No calls are waiting for approval.').waitFor();
    const held = await refusal(agent.callTool({ name: 'fx__add', arguments: { a: 2, b: 3 } }));
    assert.equal(held.code, APPROVAL_REQUIRED);
    const id = (held.data as { approvalId: string }).approvalId;
    const hostile = await refusal(agent.callTool({ name: 'fx__add_tool', arguments: { name: MARKUP } }));
    const hostileId = (hostile.data as { approvalId: string }).approvalId;
    const listed = (await api(gw, acme.ownerKey, 'GET', '/approvals')).body as { approvals: { id: string; digest: string; requestedAt: string }[] };
    const first = listed.approvals.find((a) => a.id === id);
    assert.ok(first !== undefined);

    await page.getByRole('button', { name: 'Refresh' }).click();
    await page.getByTestId('approval-tool').getByText('fx/add', { exact: true }).waitFor();
    const digests = await page.getByTestId('approval-digest').allTextContents();
    assert.ok(digests.map((d) => d.replaceAll(' ', '')).includes(first.digest), 'the digest of the exact call is shown');
    const args = await page.getByTestId('approval-arguments').allTextContents();
    assert.ok(args.includes('{"a":2,"b":3}'), JSON.stringify(args));
    assert.ok(args.includes(JSON.stringify({ name: MARKUP })), `the hostile argument is there as text: ${JSON.stringify(args)}`);
    assert.equal(await page.locator('main img').count(), 0);
    assert.equal(await page.evaluate('window.__xss'), undefined);
    const auckland = new Date(first.requestedAt).toLocaleString('en-GB', { timeZone: 'Pacific/Auckland', dateStyle: 'medium', timeStyle: 'medium' });
    await page.getByRole('cell', { name: auckland }).first().waitFor();
    await checkPage(admin, 'approvals');

    await page.getByRole('button', { name: `Approve the call of fx/add (${id})` }).click();
    await page.getByText('Approved: the next identical retry of fx/add runs, once.').waitFor();
    assert.equal(firstText(await agent.callTool({ name: 'fx__add', arguments: { a: 2, b: 3 } })), '5');
    assert.equal((await refusal(agent.callTool({ name: 'fx__add', arguments: { a: 2, b: 3 } }))).code, APPROVAL_REQUIRED, 'once');

    await page.getByRole('button', { name: `Deny the call of fx/add_tool (${hostileId})` }).click();
    await page.getByText('Denied: the call of fx/add_tool does not run; a retry asks afresh.').waitFor();
    const retried = await refusal(agent.callTool({ name: 'fx__add_tool', arguments: { name: MARKUP } }));
    assert.equal(retried.code, APPROVAL_REQUIRED, 'the denied call did not run');
    assert.notEqual((retried.data as { approvalId: string }).approvalId, hostileId, 'a new request, for someone to decide afresh');
    assert.equal(((await api(gw, acme.ownerKey, 'GET', `/approvals/${hostileId}`)).body as { state: string }).state, 'denied');
    // Left pending: the retries above asked again; the viewer's test looks at them.
    await page.getByRole('button', { name: 'Refresh' }).click();
    await page.getByText('Up to date.').waitFor();
    assert.equal(await page.getByRole('button', { name: /^Approve the call of fx\/add \(/ }).count(), 1);
    assert.equal(await page.getByRole('button', { name: /^Approve the call of fx\/add_tool \(/ }).count(), 1);
  });

  test('guardrails: the organisation policy saved, overrides and a deny rule added and enforced, then removed', async () => {
    const { page } = admin;
    await page.getByRole('link', { name: 'Guardrails' }).click();
    await page.getByText('Never changed: the gateway’s defaults apply.').waitFor();
    await page.getByText('No overrides: every connector and tool follows the organisation policy.').waitFor();
    const org = page.getByRole('form', { name: 'Organisation policy' });
    await org.getByLabel('PII detection (emails, phone and card numbers, SSNs, IBANs)').selectOption('redact');
    await org.getByLabel('PII: where').selectOption('post');
    await org.getByRole('button', { name: 'Save organisation policy' }).click();
    await page.getByText('Organisation policy saved. It applies to the next call.').waitFor();

    const add = page.getByRole('form', { name: 'Add an override' });
    await add.getByLabel('Connector, or connector/tool').fill('fx');
    await add.getByLabel('Secret detection (tokens, private keys, JWTs)').selectOption('block');
    await add.getByRole('button', { name: 'Add override' }).click();
    await page.getByText('Override for “fx” saved.').waitFor();
    await add.getByLabel('Connector, or connector/tool').fill('fx/echo');
    await add.getByLabel('Check arguments against the tool’s input schema').selectOption('off');
    await add.getByLabel('Output cap (bytes, empty to inherit)').fill('2048');
    await add.getByLabel('Above the cap').selectOption('refuse');
    await add.getByRole('button', { name: 'Add override' }).click();
    await page.getByText('Override for “fx/echo” saved.').waitFor();

    const rule = page.getByRole('form', { name: 'Add a deny rule' });
    await rule.getByLabel('Rule id').fill('no-markup');
    await rule.getByLabel('Tools (connector/tool, * matches any run)').fill('fx/*');
    await rule.getByLabel('JSON path into the arguments').fill('$.text');
    await rule.getByLabel('Regular expression that refuses the call').fill(MARKUP);
    await rule.getByRole('button', { name: 'Add deny rule' }).click();
    await page.getByText('Deny rule “no-markup” saved.').waitFor();
    assert.equal(await page.getByTestId('rule-pattern').textContent(), MARKUP);
    assert.equal(await page.locator('main img').count(), 0);
    assert.equal(await page.evaluate('window.__xss'), undefined);
    await checkPage(admin, 'guardrails');

    const doc = ((await api(gw, acme.ownerKey, 'GET', '/guardrails')).body as { document: Record<string, unknown> }).document;
    assert.deepEqual(doc.pii, { action: 'redact', direction: 'post' });
    assert.deepEqual(doc.connectors, { fx: { secrets: { action: 'block', direction: 'both' } } });
    assert.deepEqual(doc.tools, { 'fx/echo': { inputSchema: false, outputCap: { bytes: 2048, action: 'refuse' } } });
    assert.deepEqual(doc.denyRules, [{ id: 'no-markup', tool: 'fx/*', path: '$.text', pattern: MARKUP, ignoreCase: false }]);
    assert.equal((await refusal(agent.callTool({ name: 'fx__echo', arguments: { text: `say ${MARKUP}` } }))).code, DENY_RULE, 'the rule refuses');
    assert.equal(firstText(await agent.callTool({ name: 'fx__echo', arguments: { text: 'plain words' } })), 'plain words');

    await page.getByRole('button', { name: 'Remove the override of fx/echo' }).click();
    await page.getByText('Override of “fx/echo” removed.').waitFor();
    await page.getByRole('button', { name: 'Remove the deny rule no-markup' }).click();
    await page.getByText('Deny rule “no-markup” removed.').waitFor();
    await page.getByText('No deny rules.').waitFor();
    const after = ((await api(gw, acme.ownerKey, 'GET', '/guardrails')).body as { document: Record<string, unknown> }).document;
    assert.deepEqual([after.tools, after.denyRules, Object.keys(after.connectors as object)], [{}, [], ['fx']]);
    assert.equal(firstText(await agent.callTool({ name: 'fx__echo', arguments: { text: `say ${MARKUP}` } })), `say ${MARKUP}`, 'removed, it no longer refuses');
    // A bad rule is refused by the gateway, and the page says why.
    await rule.getByLabel('Rule id').fill('broken');
    await rule.getByLabel('Tools (connector/tool, * matches any run)').fill('fx/*');
    await rule.getByLabel('Regular expression that refuses the call').fill('(unclosed');
    await rule.getByRole('button', { name: 'Add deny rule' }).click();
    await page.getByRole('alert').waitFor();
    assert.equal(((await api(gw, acme.ownerKey, 'GET', '/guardrails')).body as { document: { denyRules: unknown[] } }).document.denyRules.length, 0);
    // A rule added elsewhere after the page was drawn survives saving the organisation's policy from the page.
    assert.equal((await api(gw, acme.ownerKey, 'PUT', '/guardrails/deny-rules/from-api', { rule: { tool: 'fx/*', pattern: 'nope' } })).status, 200);
    await org.getByLabel('PII: where').selectOption('both');
    await org.getByRole('button', { name: 'Save organisation policy' }).click();
    await page.getByText('Organisation policy saved. It applies to the next call.').waitFor();
    const kept = ((await api(gw, acme.ownerKey, 'GET', '/guardrails')).body as { document: { pii: unknown; denyRules: { id: string }[] } }).document;
    assert.deepEqual([kept.pii, kept.denyRules.map((r) => r.id)], [{ action: 'redact', direction: 'both' }, ['from-api']]);
  });

  test('connectors: a stdio connector is shown as the operator’s with its health; a dead upstream shows as not ready', async () => {
    await addConnector(gw.app.services, operatorActor('test'), { orgId: acme.id, name: 'dead', type: 'http', url: 'http://127.0.0.1:9/mcp', headers: [] });
    await gw.app.federation.sync();
    await gw.app.federation.settled();
    const { page } = admin;
    await page.getByRole('link', { name: 'Connectors' }).click();
    const connectors = page.getByRole('region', { name: /^Connectors/ });
    const fx = connectors.getByRole('row').filter({ has: page.getByRole('cell', { name: 'fx', exact: true }) });
    await fx.getByText('a command on the gateway host, managed with the CLI').waitFor();
    assert.equal(await fx.getByRole('button', { name: 'Edit fx' }).count(), 0, 'a stdio connector is not edited here');
    assert.match((await fx.getByTestId('connector-health').textContent()) ?? '', /ready circuit closed/);
    assert.match((await fx.textContent()) ?? '', /FX_TOKEN: secret set/);
    assert.ok(!(await page.content()).includes(VAULTED));
    const dead = connectors.getByRole('row').filter({ has: page.getByRole('cell', { name: 'dead', exact: true }) });
    assert.doesNotMatch((await dead.getByTestId('connector-health').textContent()) ?? '', /^ready/);
    await checkPage(admin, 'connectors-health');
  });

  test('vault: an owner sees the provider, the KEK version and the data keys with their secret counts; an admin has no such page', async () => {
    assert.equal(await admin.page.getByRole('link', { name: 'Vault' }).count(), 0);
    assert.equal((await api(gw, acme.people.admin.key, 'GET', '/vault')).status, 403);
    const status = (await api(gw, acme.ownerKey, 'GET', '/vault')).body as { kekVersion: number; dataKeys: { version: number; secrets: number }[] };
    assert.ok(status.dataKeys.some((k) => k.secrets >= 1), JSON.stringify(status));
    const owner = await openSignedIn(browser, base, acme, 'owner', PASSWORD);
    try {
      const { page } = owner;
      await page.getByRole('link', { name: 'Vault' }).click();
      await page.getByTestId('vault-status').getByText('local (KEKs derived from the gateway’s master key)').waitFor();
      assert.equal(await page.getByTestId('kek-version').textContent(), String(status.kekVersion));
      assert.deepEqual((await page.getByTestId('dek-secrets').allTextContents()).map(Number), status.dataKeys.map((k) => k.secrets));
      assert.ok(!(await page.content()).includes(VAULTED));
      await checkPage(owner, 'vault');
      assert.deepEqual(owner.violations, []);
    } finally {
      await owner.context.close();
    }
  });

  test('SCIM: the token is issued and shown once, works, is rotated and revoked; group mappings added and removed, markup as text', async () => {
    const { page } = admin;
    const scimUsers = (token: string) => fetch(`${base}/scim/v2/Users`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);
    await page.getByRole('link', { name: 'SCIM' }).click();
    await page.getByText('No SCIM token: provisioning is off.').waitFor();
    assert.equal(await page.getByTestId('scim-endpoint').textContent(), `${base}/scim/v2`);
    await page.getByRole('button', { name: 'Issue SCIM token' }).click();
    const token = (await page.getByTestId('scim-token').textContent()) ?? '';
    assert.match(token, /^gths_/);
    await page.getByRole('button', { name: 'Copy token' }).click();
    await page.getByText('Copied.').waitFor();
    assert.equal(await page.evaluate('navigator.clipboard.readText()'), token);
    assert.equal(await scimUsers(token), 200, 'the token shown is the one that works');
    await checkPage(admin, 'scim-token-once');
    await page.getByRole('button', { name: /^Done/ }).click();
    assert.ok(!(await page.content()).includes(token), 'closed, it is gone from the page');
    await page.reload();
    await page.getByTestId('scim-token-record').waitFor();
    assert.ok(!(await page.content()).includes(token), 'and the gateway never shows it again');
    assert.ok(!(await api(gw, acme.ownerKey, 'GET', '/scim')).text.includes(token));

    await page.getByRole('button', { name: 'Rotate SCIM token' }).click();
    const rotated = (await page.getByTestId('scim-token').textContent()) ?? '';
    assert.notEqual(rotated, token);
    assert.equal(await scimUsers(token), 401, 'the old token stops at once');
    assert.equal(await scimUsers(rotated), 200);
    await page.getByRole('button', { name: /^Done/ }).click();

    const mapping = page.getByRole('form', { name: 'Map a group to a role' });
    await mapping.getByLabel('IdP group (displayName or externalId, exact)').fill(MARKUP);
    await mapping.getByLabel('Role').selectOption('viewer');
    await mapping.getByRole('button', { name: 'Add mapping' }).click();
    await page.getByText(`“${MARKUP}” now gives the role viewer.`).waitFor();
    assert.equal(await page.getByTestId('scim-group').textContent(), MARKUP);
    assert.equal(await page.locator('main img').count(), 0);
    assert.equal(await page.evaluate('window.__xss'), undefined);
    assert.deepEqual(((await api(gw, acme.ownerKey, 'GET', '/scim')).body as { roleMappings: unknown[] }).roleMappings, [{ idpGroup: MARKUP, role: 'viewer' }]);
    await checkPage(admin, 'scim');
    await page.getByRole('button', { name: `Remove the mapping of ${MARKUP}` }).click();
    await page.getByText('No group is mapped to a role yet.').waitFor();
    assert.deepEqual(((await api(gw, acme.ownerKey, 'GET', '/scim')).body as { roleMappings: unknown[] }).roleMappings, []);

    await page.getByRole('button', { name: 'Revoke SCIM token' }).click();
    await page.getByText('No SCIM token: provisioning is off.').waitFor();
    assert.equal(await scimUsers(rotated), 401);
  });

  test('OAuth issuers: a malformed scope map is pointed out before anything is sent; an issuer trusted and removed', async () => {
    const { page } = admin;
    await page.getByRole('link', { name: 'OAuth issuers' }).click();
    await page.getByText('No OAuth issuers: agents sign in with API keys only.').waitFor();
    const form = page.getByRole('form', { name: 'Trust an OAuth issuer' });
    assert.equal(await form.getByLabel('Audience').inputValue(), `${base}/mcp`);
    await form.getByLabel('Issuer').fill('http://127.0.0.1:9/realms/agents');
    await form.getByLabel('JWKS URI (optional)').fill('http://127.0.0.1:9/realms/agents/jwks');
    await form.getByLabel('Scope map (token scope = Gatehouse scopes, one a line)').fill('mcp = *\njust words');
    let sent = 0;
    page.on('request', (r) => {
      if (r.url().endsWith('/api/v1/oauth/issuers') && r.method() === 'POST') sent++;
    });
    await form.getByRole('button', { name: 'Trust issuer' }).click();
    await form.getByRole('alert').getByText('Not in the form “scope = grants”: just words').waitFor();
    assert.equal(sent, 0);
    await form.getByLabel('Scope map (token scope = Gatehouse scopes, one a line)').fill('mcp = *\ntickets.read = fx/echo, fx/add');
    await form.getByLabel('Required token scopes (space-separated, optional)').fill('mcp');
    await form.getByRole('button', { name: 'Trust issuer' }).click();
    await page.getByText('http://127.0.0.1:9/realms/agents is trusted.').waitFor();
    assert.equal(await page.getByTestId('issuer').textContent(), 'http://127.0.0.1:9/realms/agents');
    const listed = ((await api(gw, acme.ownerKey, 'GET', '/oauth/issuers')).body as { issuers: { id: string; scopeMap: unknown; requiredScopes: string[] }[] }).issuers;
    assert.deepEqual([listed[0]?.scopeMap, listed[0]?.requiredScopes], [{ mcp: ['*'], 'tickets.read': ['fx/echo', 'fx/add'] }, ['mcp']]);
    await checkPage(admin, 'issuers');
    await page.getByRole('button', { name: 'Remove the issuer http://127.0.0.1:9/realms/agents' }).click();
    await page.getByText('No OAuth issuers: agents sign in with API keys only.').waitFor();
    assert.deepEqual(((await api(gw, acme.ownerKey, 'GET', '/oauth/issuers')).body as { issuers: unknown[] }).issuers, []);
    // Left for the viewer's test to look at.
    assert.equal((await api(gw, acme.ownerKey, 'POST', '/oauth/issuers', { issuer: 'http://127.0.0.1:9/realms/left', audience: `${base}/mcp`, jwksUri: 'http://127.0.0.1:9/realms/left/jwks', scopeMap: { mcp: ['*'] } })).status, 201);
  });

  test('a viewer reads servers, approvals, guardrails and OAuth issuers with nothing to press or edit, and the API still refuses', async () => {
    const viewer = await openSignedIn(browser, base, acme, 'viewer', PASSWORD);
    try {
      const { page } = viewer;
      assert.equal(await page.getByRole('link', { name: 'Vault' }).count(), 0);
      assert.equal(await page.getByRole('link', { name: 'SCIM' }).count(), 0, 'SCIM settings are the managers’');
      for (const [link, shot, shown] of [
        ['OAuth issuers', 'viewer-issuers', 'http://127.0.0.1:9/realms/left'],
        ['Virtual servers', 'viewer-servers', 'reports'],
        ['Approvals', 'viewer-approvals', 'fx/add'],
        ['Guardrails', 'viewer-guardrails', 'fx'],
      ] as const) {
        await page.getByRole('link', { name: link }).click();
        await page.getByRole('heading', { level: 1, name: link }).waitFor();
        await page.locator('main .loading').waitFor({ state: 'detached' });
        await page.locator('main table code, main table span').getByText(shown, { exact: true }).first().waitFor();
        await checkPage(viewer, shot);
        for (const name of ['Create', 'Edit', 'Delete', 'Approve', 'Deny', 'Remove', 'Add', 'Save']) {
          assert.equal(await page.locator('main').getByRole('button', { name, exact: false }).count(), 0, `${link}: ${name}`);
        }
        const editable = await page.locator('main input:not([disabled]), main select:not([disabled]), main textarea:not([disabled])').count();
        assert.equal(editable, 0, `${link}: editable controls`);
      }
      const pending = ((await api(gw, acme.ownerKey, 'GET', '/approvals')).body as { approvals: { id: string }[] }).approvals[0];
      assert.ok(pending !== undefined);
      const refused = await page.evaluate(async (approvalId) => {
        const s = (await (await fetch('/auth/session')).json()) as { csrfToken: string };
        const headers = { 'x-csrf-token': s.csrfToken, 'content-type': 'application/json' };
        const statuses: number[] = [];
        for (const [method, path, body] of [
          ['POST', '/api/v1/servers', { name: 'evil', tools: ['*'] }],
          ['DELETE', '/api/v1/servers/reports', undefined],
          ['POST', `/api/v1/approvals/${approvalId}/approve`, {}],
          ['PUT', '/api/v1/guardrails/deny-rules/evil', { rule: null }],
          ['GET', '/api/v1/vault', undefined],
          ['POST', '/api/v1/scim/token', {}],
          ['POST', '/api/v1/oauth/issuers', { issuer: 'http://127.0.0.1:9/evil', audience: 'x', scopeMap: { mcp: ['*'] } }],
        ] as const) {
          statuses.push((await fetch(path, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) })).status);
        }
        return statuses;
      }, pending.id);
      assert.deepEqual(refused, [403, 403, 403, 403, 403, 403, 403]);
      assert.equal((await api(gw, acme.ownerKey, 'GET', '/servers/reports')).status, 200, 'still there');
      assert.deepEqual(viewer.violations, []);
    } finally {
      await viewer.context.close();
    }
  });

  test('at 200% zoom the new pages run off no side, and each is reached by keyboard from the navigation', async () => {
    const { page } = admin;
    await page.setViewportSize({ width: 640, height: 900 });
    try {
      for (const hash of ['#/servers', '#/approvals', '#/guardrails', '#/connectors', '#/scim', '#/issuers']) {
        await page.goto(`${base}/ui/${hash}`);
        await page.locator('main h1').waitFor();
        await page.locator('main .loading').waitFor({ state: 'detached' });
        const overflow = await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth');
        assert.ok(Number(overflow) <= 0, `${hash} runs ${String(overflow)}px off the side`);
      }
      await checkPage(admin, 'zoom-200-guardrails');
    } finally {
      await page.setViewportSize({ width: 1280, height: 900 });
    }
    await page.getByRole('link', { name: 'Approvals' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Approvals' }).waitFor();
    // Focus moves to the page once it is drawn (polled from here: the CSP rightly refuses Playwright's in-page eval).
    await waitFor(async () => (await page.evaluate('document.activeElement?.id')) === 'main', 5_000, 'focus on the page');
  });
});
