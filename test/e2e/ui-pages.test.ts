// The dashboard's pages in real Chromium against a real gateway and a real upstream: a key shown once with its client
// configuration, a connector whose secret is never shown again, a quarantined tool reviewed and approved, the audit
// log filtered, the overview drawn from it; and the refusals: a viewer gets no buttons (and the API still refuses),
// markup in a tool's name stays text, and a form posted from another origin changes nothing.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { operatorActor } from '../../src/services/context.ts';
import { getToolPin, listToolPins } from '../../src/services/tool-pins.ts';
import { startUiUpstream, MARKUP_DESCRIPTION, MARKUP_TOOL, type UiUpstream } from '../fixtures/ui-upstream.ts';
import { api, makeOrg, type TestOrg } from './admin-client.ts';
import { connect, startGateway, waitFor, type Gateway } from './harness.ts';
import { checkPage, launchChromium, openSignedIn, setPasswords, type UiPage } from './ui-browser.ts';

const PASSWORD = 'copper meadow signal 58';
const UPSTREAM_SECRET = 'Bearer upstream-secret-7f3a9c1e5b';

describe('dashboard: pages', () => {
  let gw: Gateway;
  let base: string;
  let acme: TestOrg;
  let upstream: UiUpstream;
  let browser: Browser;
  let admin: UiPage;
  let createdKey = '';
  let attacker: Server | undefined;

  before(async () => {
    gw = await startGateway();
    base = gw.url.replace(/\/mcp$/, '');
    acme = await makeOrg(gw, 'acme');
    await setPasswords(gw, acme, ['owner', 'admin', 'viewer'], PASSWORD);
    // Every first sync waits for review in this organisation, so the upstream's tools arrive quarantined.
    await gw.app.services.store.pinning.putPinSettings({ orgId: acme.id, connectorId: '*', readOnly: false, autoApproveFirstSync: false, updatedAt: new Date().toISOString() });
    upstream = await startUiUpstream();
    browser = await launchChromium();
    admin = await openSignedIn(browser, base, acme, 'admin', PASSWORD);
  });
  after(async () => {
    await browser.close();
    await gw.close();
    await upstream.close();
    await new Promise<void>((resolve) => {
      if (attacker === undefined) resolve();
      else attacker.close(() => {
        resolve();
      });
    });
  });

  test('API keys: created with scopes from the catalog and an expiry, shown once with a copy button and the client configuration', async () => {
    const { page } = admin;
    await page.getByRole('link', { name: 'API keys' }).click();
    await page.getByRole('heading', { name: 'Create a key' }).waitFor();
    await checkPage(admin, 'keys');
    await page.getByLabel('Name', { exact: true }).fill('ci-agent');
    await page.getByLabel('Expires after').selectOption({ label: '7 days' });
    await page.getByLabel('Everything (every connector and tool)').check();
    await page.getByRole('button', { name: 'Create key' }).click();
    createdKey = (await page.getByTestId('new-key').textContent()) ?? '';
    assert.match(createdKey, /^gth_[A-Za-z0-9]{40,}$/);
    const config = JSON.parse((await page.getByTestId('client-config').textContent()) ?? '') as { mcpServers: { gatehouse: { url: string; headers: { Authorization: string } } } };
    assert.deepEqual(config.mcpServers.gatehouse, { type: 'http', url: `${base}/mcp`, headers: { Authorization: `Bearer ${createdKey}` } });
    await page.getByRole('button', { name: 'Copy key' }).click();
    await page.getByText('Copied.').waitFor();
    assert.equal(await page.evaluate('navigator.clipboard.readText()'), createdKey);
    await checkPage(admin, 'keys-created');
    // The key works, with the rights chosen.
    const me = (await api(gw, createdKey, 'GET', '/me')).body as { scopes: string[]; expiresAt: string };
    assert.deepEqual(me.scopes, ['*']);
    const days = (Date.parse(me.expiresAt) - Date.now()) / 86_400_000;
    assert.ok(days > 6.9 && days <= 7, String(days));
    // Closed, it is gone from the page; reloaded, the list shows the key's prefix only.
    await page.getByRole('button', { name: /Done/ }).click();
    assert.ok(!(await page.content()).includes(createdKey));
    await page.reload();
    await page.getByRole('cell', { name: 'ci-agent', exact: true }).waitFor();
    assert.ok(!(await page.content()).includes(createdKey));
    assert.ok(!(await page.content()).includes(createdKey.slice(-20)));
  });

  test('API keys: a rotation schedule chosen at creation and changed, a due key marked, a rotation with an overlap keeps the old key until then', async () => {
    const { page } = admin;
    // A key made 40 days ago on a 30-day schedule: due (the store is the only way to make one that old).
    const store = gw.app.services.store;
    const model = await store.getApiKey(acme.id, acme.people.member.keyId);
    assert.ok(model !== undefined);
    const long = new Date(Date.now() - 40 * 86_400_000).toISOString();
    await store.insertApiKey({ ...model, id: 'key_uiDueRotation000', name: 'old-agent', keyHash: randomBytes(32).toString('hex'), displayPrefix: 'gth_old', createdAt: long, rotationDays: 30, rotationDueReported: null, policyExempt: false });
    await page.getByRole('link', { name: 'API keys' }).click();
    await page.reload();
    await page.getByText('1 key is due for rotation').waitFor();
    const oldRow = page.getByRole('row', { name: /old-agent/ });
    await oldRow.getByText('every 30 days').waitFor();
    await oldRow.locator('.badge', { hasText: 'due' }).waitFor();

    await page.getByLabel('Name', { exact: true }).fill('scheduled-agent');
    await page.getByLabel('Rotate every').selectOption({ label: '90 days' });
    await page.getByLabel('Everything (every connector and tool)').check();
    await page.getByRole('button', { name: 'Create key' }).click();
    const first = (await page.getByTestId('new-key').textContent()) ?? '';
    await page.getByRole('button', { name: /Done/ }).click();
    const row = page.getByRole('row', { name: /scheduled-agent/ });
    await row.getByText('every 90 days').waitFor();
    assert.equal(((await api(gw, acme.ownerKey, 'GET', '/keys')).body as { keys: { name: string; rotationDays: number | null }[] }).keys.find((k) => k.name === 'scheduled-agent')?.rotationDays, 90);

    await page.getByRole('button', { name: 'Rotate scheduled-agent' }).click();
    const panel = page.getByRole('form', { name: 'Rotate “scheduled-agent”' });
    await panel.getByLabel('The current key keeps working for').selectOption({ label: '1 hour' });
    await checkPage(admin, 'keys-rotate');
    await panel.getByRole('button', { name: 'Rotate now' }).click();
    await page.getByText(/rotated: the old one works until/).waitFor();
    const second = (await page.getByTestId('new-key').textContent()) ?? '';
    await page.getByRole('button', { name: /Done/ }).click();
    assert.notEqual(first, second);
    assert.equal((await api(gw, first, 'GET', '/me')).status, 200, 'the old key works during the overlap');
    assert.equal((await api(gw, second, 'GET', '/me')).status, 200);
    await page.getByRole('row', { name: /scheduled-agent.*retiring/ }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Rotate scheduled-agent' }).count(), 1, 'only the new key can be rotated');

    await page.getByRole('button', { name: 'Rotation schedule of scheduled-agent' }).click();
    const schedule = page.getByRole('form', { name: 'Rotation schedule of “scheduled-agent”' });
    await schedule.getByLabel('Rotate every').selectOption({ label: 'No schedule' });
    await schedule.getByRole('button', { name: 'Save schedule' }).click();
    await page.getByText('“scheduled-agent” has no rotation schedule now.').waitFor();
    const keys = ((await api(gw, acme.ownerKey, 'GET', '/keys')).body as { keys: { name: string; status: string; rotationDays: number | null }[] }).keys.filter((k) => k.name === 'scheduled-agent');
    assert.deepEqual(keys.map((k) => [k.status, k.rotationDays]).sort(), [['active', null], ['retiring', 90]]);
    assert.deepEqual(admin.violations, []);
  });

  test('connectors: a secret header is set, used upstream, and never shown again (not on the page, in the API or the edit form)', async () => {
    const { page } = admin;
    await page.getByRole('link', { name: 'Connectors' }).click();
    await page.getByRole('button', { name: 'Add connector' }).click();
    const form = page.getByRole('form', { name: 'Add a connector' });
    await form.getByLabel('Name', { exact: true }).fill('words');
    await form.getByLabel('URL of the upstream MCP server').fill(upstream.url);
    await form.getByRole('button', { name: 'Add header' }).click();
    await form.getByLabel('Name', { exact: true }).nth(1).fill('Authorization');
    await form.getByLabel('Secret (write-only)').check();
    await form.getByLabel('Value').fill(UPSTREAM_SECRET);
    await checkPage(admin, 'connectors-add');
    await form.getByRole('button', { name: 'Add connector' }).click();
    await page.getByText('Connector added.').waitFor();
    await page.getByText('secret set').waitFor();
    assert.ok(!(await page.content()).includes('upstream-secret'), 'not on the page');
    const listed = await api(gw, acme.people.admin.key, 'GET', '/connectors');
    assert.ok(listed.text.includes('"secret":true') && !listed.text.includes('upstream-secret'), 'not in the API');
    await gw.app.federation.sync();
    await waitFor(() => upstream.authorizations.includes(UPSTREAM_SECRET), 15_000, 'the secret to reach the upstream');
    await page.getByRole('button', { name: 'Edit words' }).click();
    const edit = page.getByRole('form', { name: 'Edit words' });
    assert.equal(await edit.getByLabel('Value').inputValue(), '', 'the edit form holds no secret');
    assert.equal(await edit.getByLabel('Value').getAttribute('type'), 'password');
    await edit.getByRole('button', { name: 'Save changes' }).click();
    await edit.getByRole('alert').waitFor();
    assert.match((await edit.getByRole('alert').textContent()) ?? '', /Type the value of the secret header “Authorization” again/);
    await edit.getByRole('button', { name: 'Cancel' }).click();
    assert.ok(!gw.logs.join('\n').includes('upstream-secret'), 'not in the logs');
  });

  test('a quarantined tool is reviewed with its definition and approved; markup in a tool’s name and description stays text', async () => {
    const { page } = admin;
    const actor = operatorActor('test');
    await waitFor(async () => (await listToolPins(gw.app.services, actor, acme.id, { connector: 'words', status: 'pending' })).length === 2, 15_000, 'pending tools');
    await page.reload();
    await page.getByText('2 tool definition(s) await review').waitFor();
    // The markup tool's name is in the page as text: no image element, no handler run.
    const names = await page.getByTestId('tool-name').allTextContents();
    assert.ok(names.includes(MARKUP_TOOL), JSON.stringify(names));
    await page.getByRole('button', { name: `Review words/${MARKUP_TOOL}` }).click();
    const review = page.getByTestId('pin-review');
    await review.getByText(MARKUP_DESCRIPTION, { exact: false }).waitFor();
    assert.equal(await page.locator('main img, main script, main b').count(), 0, 'no element made from upstream text');
    assert.equal(await page.evaluate('window.__xss'), undefined, 'no script ran');
    await checkPage(admin, 'connectors-review-markup');
    await review.getByRole('button', { name: 'Close' }).click();

    await page.getByRole('button', { name: 'Review words/lookup' }).click();
    await review.getByText('"name": "lookup"', { exact: false }).first().waitFor();
    assert.ok((await review.locator('.diff-add').count()) > 0, 'the pending definition is shown as added lines');
    await checkPage(admin, 'connectors-review');
    await review.getByRole('button', { name: 'Approve' }).click();
    await page.getByText('Decision on “words/lookup” saved.').waitFor();
    const pin = await getToolPin(gw.app.services, actor, acme.id, 'words', 'lookup');
    assert.equal(pin.status, 'approved');
    assert.equal(pin.reviewedBy, acme.people.admin.userId);
    await checkPage(admin, 'connectors');
    assert.deepEqual(admin.violations, []);
  });

  test('audit log: filtered by action, paged, a record’s detail, the chain verified, times in the viewer’s zone', async () => {
    const { page } = admin;
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.getByTestId('chain-status').getByText(/Chain intact: \d+ records verified/).waitFor();
    await page.getByLabel('Action').fill('key.create');
    const filtered = page.waitForResponse((r) => r.url().includes('/api/v1/audit?') && r.url().includes('action=key.create'));
    await page.getByRole('button', { name: 'Filter' }).click();
    await filtered;
    await page.getByRole('table').getByText('key.create').first().waitFor();
    const actions = await page.locator('tbody tr td:nth-child(3)').allTextContents();
    assert.ok(actions.length >= 1 && actions.every((a) => a === 'key.create'), JSON.stringify(actions));
    assert.match((await page.locator('caption').textContent()) ?? '', /Pacific\/Auckland/);
    const download = page.waitForEvent('download');
    await page.getByRole('link', { name: 'Export (NDJSON)' }).click();
    // The records, without the signed checkpoints and the links to the records the filter left out (audit export).
    const exported = readFileSync((await (await download).path()), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type?: string; action: string })
      .filter((r) => r.type === undefined)
      .map((r) => r.action);
    assert.ok(exported.length >= 1 && exported.every((a) => a === 'key.create'), 'the export has the filter applied');
    await page.getByRole('button', { name: /Details of record/ }).last().click();
    const detail = page.getByTestId('audit-detail');
    await detail.getByText('key.create').waitFor();
    await checkPage(admin, 'audit');
    // The time shown is the record's instant in Auckland, not the server's or UTC's.
    const records = await gw.app.services.store.searchAudit(acme.id, { afterSeq: 0, limit: 1000, action: 'key.create' });
    const last = records.at(-1)!;
    const auckland = new Date(last.ts).toLocaleString('en-GB', { timeZone: 'Pacific/Auckland', dateStyle: 'medium', timeStyle: 'medium' });
    await detail.getByText(auckland).waitFor();
    // Paging: more than a page of records, walked forward and back again in chain order.
    for (let i = 0; i < 60; i++) await api(gw, acme.ownerKey, 'GET', '/me');
    await page.getByLabel('Action').fill('self.read');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.getByRole('button', { name: 'Previous page' }).and(page.locator(':disabled')).waitFor();
    await page.getByRole('button', { name: 'Next page' }).and(page.locator(':enabled')).waitFor();
    const firstPage = (await page.locator('tbody tr td:nth-child(1)').allTextContents()).map(Number);
    assert.equal(firstPage.length, 50);
    await page.getByRole('button', { name: 'Next page' }).click();
    await page.getByRole('button', { name: 'Previous page' }).and(page.locator(':enabled')).waitFor();
    const secondPage = (await page.locator('tbody tr td:nth-child(1)').allTextContents()).map(Number);
    assert.ok(secondPage.length >= 10 && Math.min(...secondPage) > Math.max(...firstPage), 'the next page continues the chain');
    await page.getByRole('button', { name: 'Previous page' }).click();
    await page.getByRole('button', { name: 'Previous page' }).and(page.locator(':disabled')).waitFor();
    assert.deepEqual((await page.locator('tbody tr td:nth-child(1)').allTextContents()).map(Number), firstPage);
    await page.getByLabel('Decision').selectOption('deny');
    await page.getByLabel('Action').fill('no.such.action');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.getByText('No records match these filters.').waitFor();
  });

  test('overview: calls, denials, latency and top tools drawn as SVG from the audit log', async () => {
    const client = await connect(gw.url.replace(/\/mcp$/, '/mcp'), createdKey);
    try {
      await gw.app.federation.sync();
      await waitFor(async () => (await client.listTools()).tools.some((t) => t.name === 'words__lookup'), 15_000, 'the approved tool');
      await client.callTool({ name: 'words__lookup', arguments: { word: 'gate' } });
      await client.callTool({ name: 'words__lookup', arguments: { word: 'house' } });
    } finally {
      await client.close();
    }
    const { page } = admin;
    await page.getByRole('link', { name: 'Overview' }).click();
    await page.getByTestId('stat-calls').waitFor();
    assert.ok(Number(await page.getByTestId('stat-calls').textContent()) >= 2);
    assert.ok((await page.locator('svg.chart rect.bar.calls').count()) >= 24);
    await page.locator('svg.chart text', { hasText: 'words/lookup' }).waitFor();
    await checkPage(admin, 'overview');
  });

  test('a viewer sees every page but no button that would change anything, and the API still refuses the change', async () => {
    const viewer = await openSignedIn(browser, base, acme, 'viewer', PASSWORD);
    try {
      const { page } = viewer;
      for (const [link, shot] of [['API keys', 'viewer-keys'], ['Connectors', 'viewer-connectors'], ['Audit log', 'viewer-audit']] as const) {
        await page.getByRole('link', { name: link }).click();
        await page.getByRole('heading', { level: 1, name: link }).waitFor();
        await page.locator('.loading').waitFor({ state: 'detached' });
        await checkPage(viewer, shot);
        for (const name of ['Create key', 'Rotate', 'Revoke', 'Add connector', 'Edit', 'Remove', 'Approve', 'Reject']) {
          assert.equal(await page.getByRole('button', { name, exact: false }).count(), 0, `${link}: ${name}`);
        }
      }
      assert.equal(await page.getByRole('link', { name: 'Export (NDJSON)' }).count(), 0, 'no bulk export for a viewer until an owner grants it');
      assert.equal(await page.getByRole('button', { name: 'Save retention and export' }).count(), 0, 'retention is shown, not changeable');
      await page.getByRole('link', { name: 'Connectors' }).click();
      await page.getByRole('button', { name: /^(Details|Review) words\// }).first().click();
      await page.getByTestId('pin-review').waitFor();
      assert.equal(await page.getByRole('button', { name: 'Approve' }).count(), 0);
      const refused = await page.evaluate(async () => {
        const s = (await (await fetch('/auth/session')).json()) as { csrfToken: string };
        const r = await fetch('/api/v1/connectors', { method: 'POST', headers: { 'x-csrf-token': s.csrfToken, 'content-type': 'application/json' }, body: JSON.stringify({ type: 'http', name: 'evil', url: 'https://example.com/mcp' }) });
        return r.status;
      });
      assert.equal(refused, 403);
      assert.deepEqual(viewer.violations, []);
    } finally {
      await viewer.context.close();
    }
  });

  test('a form posted to the admin API from another origin is refused, signed in or not, and creates nothing', async () => {
    attacker = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<!doctype html><title>prize</title><form method="post" enctype="text/plain" action="${base}/api/v1/keys"><input name='{"name":"evil","scopes":["*"],"x":"' value='"}'><button>Claim</button></form>`);
    });
    await new Promise<void>((resolve) => attacker?.listen(0, '127.0.0.1', resolve));
    const port = (attacker.address() as AddressInfo).port;
    const before = (await api(gw, acme.ownerKey, 'GET', '/keys')).text;
    // Another port on the same address (same site: the cookie goes along) and another name (cross site: it does not).
    for (const origin of [`http://127.0.0.1:${String(port)}`, `http://localhost:${String(port)}`]) {
      const { page } = admin;
      await page.goto(`${origin}/`);
      const answer = page.waitForResponse((r) => r.url() === `${base}/api/v1/keys`);
      await page.getByRole('button', { name: 'Claim' }).click();
      const res = await answer;
      assert.ok([401, 403, 415].includes(res.status()), `${origin}: ${String(res.status())}`);
    }
    const keys = (await api(gw, acme.ownerKey, 'GET', '/keys')).text;
    assert.ok(!keys.includes('"evil"'));
    assert.equal(keys, before);
    const csrf = await gw.app.services.store.searchAudit(acme.id, { afterSeq: 0, limit: 1000, action: 'auth.csrf' });
    assert.ok(csrf.length >= 1, 'the same-site attempt is audited as a CSRF refusal');
    // The session itself is untouched: back on the dashboard it still works.
    await admin.page.goto(`${base}/ui/#/keys`);
    await admin.page.getByRole('cell', { name: 'ci-agent', exact: true }).waitFor();
  });
  test('audit retention and the viewers’ export grant: an owner sets them in the browser, and a viewer then may export', async () => {
    const owner = await openSignedIn(browser, base, acme, 'owner', PASSWORD);
    const viewer = await openSignedIn(browser, base, acme, 'viewer', PASSWORD);
    try {
      await owner.page.getByRole('link', { name: 'Audit log' }).click();
      const card = owner.page.getByRole('form', { name: 'Retention and export' });
      await card.getByLabel('Keep records for (days)').fill('0');
      await card.getByRole('button', { name: 'Save retention and export' }).click();
      // The browser's own constraint check stops it (min 1): the field says why, and nothing is sent.
      assert.equal(await card.getByLabel('Keep records for (days)').evaluate((el) => (el as unknown as { validity: { rangeUnderflow: boolean } }).validity.rangeUnderflow), true);
      assert.equal(((await api(gw, acme.ownerKey, 'GET', '/audit/settings')).body as { retentionDays: number | null }).retentionDays, null, 'bad input changes nothing');
      await card.getByLabel('Keep records for (days)').fill('400');
      await card.getByLabel(/Viewers may export/).check();
      await card.getByRole('button', { name: 'Save retention and export' }).click();
      await card.getByText(/older than 400 days/).waitFor();
      await checkPage(owner, 'audit-settings');
      const saved = (await api(gw, acme.ownerKey, 'GET', '/audit/settings')).body as { retentionDays: number | null; viewerExport: boolean };
      assert.deepEqual([saved.retentionDays, saved.viewerExport], [400, true]);

      await viewer.page.getByRole('link', { name: 'Audit log' }).click();
      await viewer.page.getByRole('link', { name: 'Export (NDJSON)' }).waitFor();
      assert.deepEqual([...owner.violations, ...viewer.violations], []);
    } finally {
      await api(gw, acme.ownerKey, 'PATCH', '/audit/settings', { retentionDays: null, viewerExport: false });
      await owner.context.close();
      await viewer.context.close();
    }
  });
});
