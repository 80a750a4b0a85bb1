/**
 * Test support for the dashboard: Debian's Chromium driven by playwright-core, a page per person with its own
 * cookies, the viewer's time zone chosen by the test, every CSP violation and page error collected, a screenshot of
 * each page kept as an artefact (.artifacts/ui, git-ignored) and axe-core run on it.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { operatorActor } from '../../src/services/context.ts';
import { setUserPassword } from '../../src/services/sign-in.ts';
import type { KeyRole } from '../../src/store/types.ts';
import type { TestOrg } from './admin-client.ts';
import { ROOT, type Gateway } from './harness.ts';

export const ARTIFACTS = join(ROOT, '.artifacts/ui');
const AXE = readFileSync(join(ROOT, 'node_modules/axe-core/axe.min.js'), 'utf8');

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    timeout: 30_000,
  });
}

interface AxeViolation {
  readonly id: string;
  readonly impact: string | null;
  readonly help: string;
  readonly targets: readonly string[];
}

export interface UiPage {
  readonly page: Page;
  readonly context: BrowserContext;
  /** CSP violations the page reported (our own code must cause none). */
  readonly violations: string[];
  /** Uncaught errors of the page's scripts. */
  readonly errors: string[];
}

export async function openPage(browser: Browser, url: string, timezoneId = 'Pacific/Auckland'): Promise<UiPage> {
  const context = await browser.newContext({ timezoneId, locale: 'en-GB', viewport: { width: 1280, height: 900 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(url).origin });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const violations: string[] = [];
  const errors: string[] = [];
  page.on('console', (m) => {
    if (/Content.Security.Policy|Trusted Type/i.test(m.text())) violations.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('dialog', (d) => void d.accept());
  await page.goto(url);
  return { page, context, violations, errors };
}

/**
 * Keeps a screenshot and runs axe-core. Axe is evaluated through the DevTools protocol, which the page's CSP does not
 * govern (a script tag with its text would be refused by the very policy under test, and must stay refused).
 */
export async function checkPage(p: UiPage, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await p.page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  if ((await p.page.evaluate("'axe' in window")) !== true) await p.page.evaluate(AXE);
  const result = await p.page.evaluate<AxeViolation[]>(`axe.run(document, { resultTypes: ['violations'] }).then((r) =>
    r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.slice(0, 5).map((n) => JSON.stringify(n.target)) })))`);
  const serious = result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(serious, [], `${name}: axe found serious or critical violations`);
  assert.deepEqual(p.errors, [], `${name}: page errors`);
}

/** Signs in through the form; returns once the next step (or the dashboard) shows. */
export async function submitPassword(page: Page, org: string, email: string, password: string): Promise<void> {
  await page.getByLabel('Organisation').fill(org);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

export async function signIn(page: Page, org: string, email: string, password: string): Promise<void> {
  await submitPassword(page, org, email, password);
  await page.getByTestId('countdown').waitFor();
}

/** Gives these people of a test organisation a password, so they can sign in through the form. */
export async function setPasswords(gw: Pick<Gateway, 'app'>, org: TestOrg, roles: readonly KeyRole[], password: string): Promise<void> {
  for (const role of roles) await setUserPassword(gw.app.services, operatorActor('test'), org.people[role].email, password);
}

/** A fresh browser page (its own cookies) at `base`/ui/, signed in as one person of `org` with a password. */
export async function openSignedIn(browser: Browser, base: string, org: TestOrg, role: KeyRole, password: string): Promise<UiPage> {
  const p = await openPage(browser, `${base}/ui/`);
  await signIn(p.page, org.slug, org.people[role].email, password);
  return p;
}
