// The dashboard's sign-in in real Chromium against a real gateway: the page's own headers (a strict CSP), password
// with a TOTP step (enrolment, recovery codes shown once, a recovery code later), single sign-on at a real OpenID
// Provider, and the session countdown with its warning before the idle timeout ends the session.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { base32Decode, hotp, totpStep } from '../../src/identity/totp.ts';
import { api, makeOrg, type TestOrg } from './admin-client.ts';
import { startGateway, type Gateway } from './harness.ts';
import { startIdp, type Idp } from './idp.ts';
import { checkPage, launchChromium, openPage, setPasswords, signIn, submitPassword } from './ui-browser.ts';

const PASSWORD = 'amber lantern orchard 47';

describe('dashboard: sign-in', () => {
  let gw: Gateway;
  let base: string;
  let acme: TestOrg;
  let globex: TestOrg;
  let idp: Idp;
  let browser: Browser;

  before(async () => {
    gw = await startGateway();
    base = gw.url.replace(/\/mcp$/, '');
    acme = await makeOrg(gw, 'acme');
    globex = await makeOrg(gw, 'globex');
    await setPasswords(gw, acme, ['owner', 'admin', 'viewer'], PASSWORD);
    idp = await startIdp('globex', [`${base}/auth/oidc/globex/callback`]);
    const set = await api(gw, globex.ownerKey, 'PATCH', `/organisations/${globex.id}/sign-in`, { oidc: { issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret } });
    assert.equal(set.status, 200, set.text);
    browser = await launchChromium();
  });
  after(async () => {
    await browser.close();
    await gw.close();
    await idp.close();
  });

  test('the dashboard is served from the gateway with a strict CSP, and / leads to it', async () => {
    const root = await fetch(`${base}/`, { redirect: 'manual' });
    assert.equal(root.status, 301);
    assert.equal(root.headers.get('location'), '/ui/');
    const page = await fetch(`${base}/ui/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    const csp = page.headers.get('content-security-policy') ?? '';
    for (const part of ["default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "require-trusted-types-for 'script'"]) assert.ok(csp.includes(part), part);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:/);
    assert.equal(page.headers.get('x-frame-options'), 'DENY');
    const html = await page.text();
    assert.doesNotMatch(html, /<script>|<style>|\sstyle=|\son\w+=/i, 'no inline script, style or handler');
    const script = await fetch(`${base}/ui/app.ts`);
    assert.match(script.headers.get('content-type') ?? '', /^text\/javascript/);
    assert.doesNotMatch(await script.text(), /: Page\[\]|interface Page/, 'served without its types');
    assert.equal((await fetch(`${base}/ui/../src/app.ts`)).status, 404);
    assert.equal((await fetch(`${base}/ui/tsconfig.json`)).status, 404);
    assert.equal((await fetch(`${base}/ui/`, { method: 'POST' })).status, 405);
  });

  test('a wrong password gets the gateway’s message; the page’s CSP refuses a script injected by text', async () => {
    const p = await openPage(browser, `${base}/ui/`);
    try {
      await checkPage(p, 'sign-in');
      await submitPassword(p.page, 'acme', acme.people.admin.email, 'not the password at all');
      await p.page.locator('main [role=alert]').waitFor();
      // In the page, as the page's own code would: these strings are browser JavaScript.
      const injected = await p.page.evaluate(`(() => {
        const s = document.createElement('script');
        try {
          s.textContent = 'window.__ran = true';
          document.body.append(s);
        } catch {
          return 'refused by trusted types';
        }
        return window.__ran === true ? 'ran' : 'refused by CSP';
      })()`);
      assert.notEqual(injected, 'ran');
      const html = await p.page.evaluate(`(() => {
        try {
          document.body.insertAdjacentHTML('beforeend', '<img src=x>');
          return 'accepted';
        } catch {
          return 'refused';
        }
      })()`);
      assert.equal(html, 'refused', 'HTML sinks throw under Trusted Types');
    } finally {
      await p.context.close();
    }
  });

  test('password, then TOTP enrolment the organisation requires, recovery codes once; next time the TOTP step, and a recovery code', async () => {
    const set = await api(gw, acme.ownerKey, 'PATCH', `/organisations/${acme.id}/sign-in`, { requireMfa: true });
    assert.equal(set.status, 200, set.text);
    const p = await openPage(browser, `${base}/ui/`);
    try {
      await submitPassword(p.page, 'acme', acme.people.owner.email, PASSWORD);
      const secret = (await p.page.getByTestId('totp-secret').textContent()) ?? '';
      assert.match(secret, /^[A-Z2-7]{16,}$/);
      await checkPage(p, 'sign-in-enrol');
      await p.page.getByLabel('Code from your authenticator app').fill(hotp(base32Decode(secret), totpStep(Date.now())));
      await p.page.getByRole('button', { name: 'Confirm' }).click();
      const codes = ((await p.page.getByTestId('recovery-codes').textContent()) ?? '').split('\n');
      assert.equal(codes.length, 10);
      await checkPage(p, 'sign-in-recovery-codes');
      await p.page.getByRole('button', { name: /I have saved them/ }).click();
      await p.page.getByTestId('countdown').waitFor();
      assert.equal(await p.page.getByTestId('recovery-codes').count(), 0, 'shown once');

      await p.page.getByRole('button', { name: 'Sign out' }).click();
      await submitPassword(p.page, 'acme', acme.people.owner.email, PASSWORD);
      await p.page.getByLabel('Code from your authenticator app').fill('000000');
      await p.page.getByRole('button', { name: 'Verify' }).click();
      await p.page.getByRole('alert').first().waitFor();
      await checkPage(p, 'sign-in-totp');
      // The next step's code: the enrolment used this one, and a used step is refused.
      await p.page.getByLabel('Code from your authenticator app').fill(hotp(base32Decode(secret), totpStep(Date.now()) + 1));
      await p.page.getByRole('button', { name: 'Verify' }).click();
      await p.page.getByTestId('countdown').waitFor();
      const who = await p.page.evaluate(async () => (await fetch('/api/v1/me')).json() as Promise<{ userId: string; via: string }>);
      assert.deepEqual([who.via, who.userId], ['session', acme.people.owner.userId]);

      await p.page.getByRole('button', { name: 'Sign out' }).click();
      await submitPassword(p.page, 'acme', acme.people.owner.email, PASSWORD);
      await p.page.getByRole('button', { name: 'Use a recovery code instead' }).click();
      await p.page.getByLabel('Recovery code').fill(codes[0] ?? '');
      await p.page.getByRole('button', { name: 'Verify' }).click();
      await p.page.getByTestId('countdown').waitFor();
      assert.deepEqual(p.violations, []);
    } finally {
      await p.context.close();
      await api(gw, acme.ownerKey, 'PATCH', `/organisations/${acme.id}/sign-in`, { requireMfa: false });
    }
  });

  test('single sign-on: the organisation’s button goes to its IdP and comes back signed in', async () => {
    const person = globex.people.admin;
    idp.nextLogin = { email: person.email, emailVerified: true, amr: ['pwd'] };
    const p = await openPage(browser, `${base}/ui/?org=globex`);
    try {
      await p.page.getByRole('button', { name: 'Sign in with single sign-on' }).click();
      await p.page.getByTestId('countdown').waitFor();
      assert.equal(new URL(p.page.url()).pathname, '/ui/');
      const who = await p.page.evaluate(async () => (await fetch('/api/v1/me')).json() as Promise<{ userId: string; orgId: string }>);
      assert.deepEqual([who.orgId, who.userId], [globex.id, person.userId]);
      assert.deepEqual(p.violations, []);
    } finally {
      await p.context.close();
    }
  });

  test('the countdown shows the idle end, warns before it, and the session ending returns to sign-in', async () => {
    const p = await openPage(browser, `${base}/ui/`);
    try {
      await p.page.clock.install();
      await p.page.reload();
      await signIn(p.page, 'acme', acme.people.admin.email, PASSWORD);
      const text = (await p.page.getByTestId('countdown').textContent()) ?? '';
      const m = /Session ends in (\d+):(\d\d)/.exec(text);
      assert.ok(m !== null, text);
      const minutes = Number(m[1]);
      assert.ok(minutes >= 1, text);
      assert.equal(await p.page.getByTestId('idle-warning').count(), 0);
      // The browser's clock runs ahead to a minute before the end: the warning shows, and it keeps the session.
      await p.page.clock.fastForward((minutes - 1) * 60_000);
      await p.page.getByTestId('idle-warning').waitFor();
      await checkPage(p, 'session-warning');
      await p.page.getByRole('button', { name: 'Stay signed in' }).click();
      // The server's clock did not move: the session is alive, and the countdown follows the server again.
      await p.page.getByTestId('idle-warning').waitFor({ state: 'detached' });
      // Now the session really ends (logged out elsewhere): the next tick past its end returns to sign-in.
      await p.page.evaluate(async () => {
        const s = (await (await fetch('/auth/session')).json()) as { csrfToken: string };
        await fetch('/auth/logout', { method: 'POST', headers: { 'x-csrf-token': s.csrfToken, 'content-type': 'application/json' }, body: '{}' });
      });
      await p.page.clock.fastForward((minutes + 1) * 60_000);
      await p.page.getByRole('heading', { name: 'Sign in to Gatehouse' }).waitFor();
      await p.page.getByText('Your session ended').waitFor();
    } finally {
      await p.context.close();
    }
  });
});
