// The dashboard's administration pages in real Chromium: members and roles, security settings (required MFA, session
// timeouts, network allowlists with CIDR checks, rate limits) and the Cedar policy editor with the validator's
// messages; what a viewer sees there; the keyboard path and the layout at 200% zoom.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { api, makeOrg, type TestOrg } from './admin-client.ts';
import { startGateway, type Gateway } from './harness.ts';
import { checkPage, launchChromium, openSignedIn, setPasswords, type UiPage } from './ui-browser.ts';

const PASSWORD = 'granite willow beacon 61';

describe('dashboard: members, security settings, policies', () => {
  let gw: Gateway;
  let base: string;
  let acme: TestOrg;
  let browser: Browser;
  let admin: UiPage;

  before(async () => {
    gw = await startGateway();
    base = gw.url.replace(/\/mcp$/, '');
    acme = await makeOrg(gw, 'acme');
    await setPasswords(gw, acme, ['admin', 'viewer'], PASSWORD);
    browser = await launchChromium();
    admin = await openSignedIn(browser, base, acme, 'admin', PASSWORD);
  });
  after(async () => {
    await browser.close();
    await gw.close();
  });

  test('members: a person is added with a role, and their role changed', async () => {
    const { page } = admin;
    await page.getByRole('link', { name: 'Members' }).click();
    await page.getByLabel('Email').fill('newcomer@acme.example');
    await page.getByLabel('Role', { exact: true }).selectOption('viewer');
    await page.getByRole('button', { name: 'Add member' }).click();
    await page.getByText('newcomer@acme.example added as viewer.').waitFor();
    await page.getByLabel('Role of newcomer@acme.example', { exact: true }).selectOption('member');
    await page.getByRole('button', { name: 'Save role of newcomer@acme.example' }).click();
    await page.getByText('newcomer@acme.example is now member.').waitFor();
    const members = (await api(gw, acme.ownerKey, 'GET', '/members')).body as { members: { email: string; role: string }[] };
    assert.equal(members.members.find((m) => m.email === 'newcomer@acme.example')?.role, 'member');
    await checkPage(admin, 'members');
  });

  test('security: a malformed network is pointed out before anything is sent; good ones, MFA and timeouts are saved', async () => {
    const { page } = admin;
    await page.getByRole('link', { name: 'Security' }).click();
    const mcp = page.getByRole('form', { name: 'Allowlist: MCP endpoints (agents)' });
    await mcp.getByLabel('Only these networks may connect').check();
    await mcp.getByLabel('Networks (CIDR, one a line)').fill('10.0.0.0/8\n10.0.0.300/8\n2001:db8::/129\n2001:db8::/32');
    let sent = 0;
    page.on('request', (r) => {
      if (r.url().endsWith('/api/v1/network/mcp')) sent++;
    });
    await mcp.getByRole('button', { name: 'Save allowlist' }).click();
    await mcp.getByRole('alert').getByText('Not a network in CIDR form: 10.0.0.300/8, 2001:db8::/129').waitFor();
    assert.equal(sent, 0);
    assert.equal(await mcp.getByLabel('Networks (CIDR, one a line)').getAttribute('aria-invalid'), 'true');
    await checkPage(admin, 'security-invalid-cidr');
    await mcp.getByLabel('Networks (CIDR, one a line)').fill('10.0.0.0/8\n127.0.0.0/8\n2001:db8::/32');
    await mcp.getByRole('button', { name: 'Save allowlist' }).click();
    await mcp.getByText('Saved. It applies to the next request.').waitFor();
    const plane = (await api(gw, acme.ownerKey, 'GET', '/network/mcp')).body as { cidrs: string[] };
    assert.deepEqual(plane.cidrs, ['10.0.0.0/8', '127.0.0.0/8', '2001:db8::/32']);

    await page.getByLabel(/Require two-step sign-in/).check();
    await page.getByLabel('Idle timeout (minutes)').fill('30');
    await page.getByRole('button', { name: 'Save sign-in settings' }).click();
    await page.getByText('Saved. New limits apply').waitFor();
    const settings = (await api(gw, acme.ownerKey, 'GET', `/organisations/${acme.id}/sign-in`)).body as { requireMfa: boolean; sessionIdleMinutes: number };
    assert.deepEqual([settings.requireMfa, settings.sessionIdleMinutes], [true, 30]);
    // Set back, so the admin's own password-only session keeps its standing for the rest of the suite.
    await api(gw, acme.ownerKey, 'PATCH', `/organisations/${acme.id}/sign-in`, { requireMfa: false });

    await page.reload();
    await page.getByLabel('Organisation limit (all keys together)').fill('lots');
    await page.getByRole('button', { name: 'Save organisation limit' }).click();
    await page.getByText('Write a limit as requests per second').waitFor();
    await page.getByLabel('Organisation limit (all keys together)').fill('300/m,burst=50');
    await page.getByRole('button', { name: 'Save organisation limit' }).click();
    await page.getByText('Organisation limit saved.').waitFor();
    await page.getByLabel('Tier of key “member-key”').selectOption('10');
    await page.getByText('Tier of “member-key” saved.').waitFor();
    const traffic = (await api(gw, acme.ownerKey, 'GET', '/traffic')).body as { orgLimit: string; keyTiers: Record<string, string> };
    assert.equal(traffic.orgLimit, '300/m,burst=50');
    assert.equal(traffic.keyTiers[acme.people.member.keyId], '10/s');
    await checkPage(admin, 'security');
  });

  test('policies: the validator’s messages are shown for a bad set; a good one is saved as a version', async () => {
    const { page } = admin;
    await page.getByRole('link', { name: 'Policies' }).click();
    const editor = page.getByLabel('Policy set (Cedar)');
    await editor.fill('permit (principal, action == Gatehouse::Action::"no-such-action", resource);');
    await page.getByRole('button', { name: 'Validate and save' }).click();
    const refusal = page.getByTestId('policy-status').getByRole('alert');
    await refusal.waitFor();
    assert.match((await refusal.textContent()) ?? '', /Not saved\..*no-such-action/s);
    await checkPage(admin, 'policies-invalid');
    await editor.fill('@id("no-delete")\nforbid (principal, action, resource == Gatehouse::Tool::"github/delete_repo");\n@id("rest")\npermit (principal, action, resource);');
    await page.getByRole('button', { name: 'Validate and save' }).click();
    await page.getByText('Saved as version 1').waitFor();
    await page.getByText('Version 1 is in force').waitFor();
    const current = (await api(gw, acme.ownerKey, 'GET', '/policy')).body as { version: number; text: string };
    assert.equal(current.version, 1);
    assert.match(current.text, /no-delete/);
    await checkPage(admin, 'policies');
  });

  test('a viewer reads members, security settings and policies with nothing to press or edit', async () => {
    const viewer = await openSignedIn(browser, base, acme, 'viewer', PASSWORD);
    try {
      const { page } = viewer;
      for (const [link, shot] of [['Members', 'viewer-members'], ['Security', 'viewer-security'], ['Policies', 'viewer-policies']] as const) {
        await page.getByRole('link', { name: link }).click();
        await page.locator('main h1', { hasText: link }).waitFor();
        await page.locator('main .loading').waitFor({ state: 'detached' });
        await page.locator('main .card, main .scroll').first().waitFor();
        await checkPage(viewer, shot);
        const buttons = await page.locator('main button').allTextContents();
        assert.deepEqual(buttons, [], `${link}: ${JSON.stringify(buttons)}`);
        const editable = await page.locator('main input:not([disabled]), main select:not([disabled]), main textarea:not([disabled]):not([readonly])').count();
        assert.equal(editable, 0, `${link}: editable controls`);
      }
      assert.deepEqual(viewer.violations, []);
    } finally {
      await viewer.context.close();
    }
  });

  test('keyboard: the skip link comes first and focus is visible; at 200% zoom nothing runs off the side of the page', async () => {
    const { page } = admin;
    await page.goto(`${base}/ui/#/keys`);
    await page.reload();
    await page.getByRole('heading', { name: 'Create a key' }).waitFor();
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate('document.activeElement.textContent'), 'Skip to content');
    await page.keyboard.press('Tab');
    const outline = await page.evaluate('getComputedStyle(document.activeElement).outlineStyle');
    assert.equal(outline, 'solid', 'the focused control shows a focus ring');
    // 200% zoom of a 1280-pixel window lays the page out in 640 CSS pixels.
    await page.setViewportSize({ width: 640, height: 900 });
    for (const hash of ['#/overview', '#/keys', '#/connectors', '#/audit', '#/members', '#/settings', '#/policies']) {
      await page.goto(`${base}/ui/${hash}`);
      await page.locator('main h1').waitFor();
      await page.locator('main .loading').waitFor({ state: 'detached' });
      const overflow = await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth');
      assert.ok(Number(overflow) <= 0, `${hash} runs ${String(overflow)}px off the side`);
    }
    await checkPage(admin, 'zoom-200-policies');
    await page.setViewportSize({ width: 1280, height: 900 });
  });
});
