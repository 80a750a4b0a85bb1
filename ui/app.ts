import { onActivity, onSignedOut, request } from './lib/api.ts';
import { fill, h, notice } from './lib/dom.ts';
import { can, endsAt, forget, loadPermissions, refreshSession, session, type Session } from './lib/session.ts';
import { renderApprovals } from './pages/approvals.ts';
import { renderAudit } from './pages/audit.ts';
import { renderConnectors } from './pages/connectors.ts';
import { renderGuardrails } from './pages/guardrails.ts';
import { renderIssuers } from './pages/issuers.ts';
import { renderKeys } from './pages/keys.ts';
import { renderMembers } from './pages/members.ts';
import { renderPolicies } from './pages/policies.ts';
import { renderScim } from './pages/scim.ts';
import { renderServers } from './pages/servers.ts';
import { renderSettings } from './pages/settings.ts';
import { renderOverview } from './pages/overview.ts';
import { renderSignIn } from './pages/sign-in.ts';
import { renderVault } from './pages/vault.ts';

interface Page {
  readonly id: string;
  readonly title: string;
  /** The permission-table action that reading this page needs. */
  readonly action: string;
  readonly render: (main: HTMLElement) => Promise<void>;
}

const PAGES: readonly Page[] = [
  { id: 'overview', title: 'Overview', action: 'audit.read', render: renderOverview },
  { id: 'keys', title: 'API keys', action: 'key.read', render: renderKeys },
  { id: 'connectors', title: 'Connectors', action: 'connector.read', render: renderConnectors },
  { id: 'servers', title: 'Virtual servers', action: 'virtual_server.read', render: renderServers },
  { id: 'approvals', title: 'Approvals', action: 'approval.read', render: renderApprovals },
  { id: 'guardrails', title: 'Guardrails', action: 'guardrails.read', render: renderGuardrails },
  { id: 'audit', title: 'Audit log', action: 'audit.read', render: renderAudit },
  { id: 'members', title: 'Members', action: 'member.read', render: renderMembers },
  { id: 'settings', title: 'Security', action: 'sign_in.read', render: renderSettings },
  { id: 'scim', title: 'SCIM', action: 'scim.read', render: renderScim },
  { id: 'issuers', title: 'OAuth issuers', action: 'oauth_issuer.read', render: renderIssuers },
  { id: 'policies', title: 'Policies', action: 'policy.read', render: renderPolicies },
  { id: 'vault', title: 'Vault', action: 'vault.read_org', render: renderVault },
];

/** The warning comes this long before the idle timeout would end the session. */
const WARN_MS = 2 * 60_000;
/** The session is asked about again at most this often after activity (the server notes activity as seldom). */
const REFRESH_MS = 15_000;

const main = document.getElementById('main') as HTMLElement;
const top = document.getElementById('top') as HTMLElement;
const warning = document.getElementById('warning') as HTMLElement;
let ticker: number | undefined;
let lastRefresh = 0;

function visiblePages(): Page[] {
  return PAGES.filter((p) => can(p.action));
}

function currentPage(): Page | undefined {
  // `#/connectors?connected=name`: what follows `?` is for the page itself.
  const id = location.hash.replace(/^#\/?/, '').split('?')[0] ?? '';
  const pages = visiblePages();
  return pages.find((p) => p.id === id) ?? pages[0];
}

function clock(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const m = Math.floor(s / 60);
  return `${String(m)}:${String(s % 60).padStart(2, '0')}`;
}

function renderHeader(s: Session): void {
  const page = currentPage();
  const nav = h(
    'nav',
    { 'aria-label': 'Pages' },
    h('ul', {}, ...visiblePages().map((p) => h('li', {}, h('a', { href: `#/${p.id}`, 'aria-current': p === page ? 'page' : false }, p.title)))),
  );
  const signOut = h('button', { type: 'button', class: 'secondary' }, 'Sign out');
  signOut.addEventListener('click', () => {
    request('POST', '/auth/logout', {})
      .catch(() => undefined)
      .finally(() => { signedOut('You are signed out.'); });
  });
  fill(
    top,
    h('span', { class: 'brand' }, 'Gatehouse'),
    nav,
    h('span', { class: 'who' }, s.role),
    h('span', { class: 'countdown', id: 'countdown', 'data-testid': 'countdown' }),
    signOut,
  );
  top.hidden = false;
}

function tick(): void {
  const s = session();
  const countdown = document.getElementById('countdown');
  if (s === undefined || countdown === null) return;
  const left = endsAt(s) - Date.now();
  countdown.textContent = `Session ends in ${clock(left)}`;
  if (left <= 0) {
    void refreshSession().then((fresh) => {
      if (fresh === undefined) signedOut('Your session ended. Sign in again to continue.');
    });
    return;
  }
  if (left <= WARN_MS) {
    if (warning.hidden) {
      const stay = h('button', { type: 'button' }, 'Stay signed in');
      stay.addEventListener('click', () => {
        void keepAlive();
      });
      fill(warning, h('span', { 'data-testid': 'idle-warning' }, 'Your session is about to end for inactivity. '), stay);
      warning.hidden = false;
    }
  } else if (!warning.hidden) {
    warning.hidden = true;
    fill(warning);
  }
}

async function keepAlive(): Promise<void> {
  lastRefresh = Date.now();
  if ((await refreshSession()) === undefined) signedOut('Your session ended. Sign in again to continue.');
  tick();
}

function signedOut(message: string): void {
  forget();
  window.clearInterval(ticker);
  ticker = undefined;
  top.hidden = true;
  fill(top);
  warning.hidden = true;
  renderSignIn(main, () => void enter(), message);
}

/** Shows the page the address names; `moveFocus` after a navigation, so a screen reader starts at the new page. */
async function show(moveFocus: boolean): Promise<void> {
  const s = session();
  const page = currentPage();
  if (s === undefined) return;
  renderHeader(s);
  if (page === undefined) {
    fill(main, notice('info', 'Your role has no pages here.'));
    return;
  }
  document.title = `${page.title} · Gatehouse`;
  fill(main, h('p', { class: 'loading' }, 'Loading…'));
  try {
    await page.render(main);
  } catch {
    fill(main, notice('error', 'This page could not be shown. Reload to try again.'));
  }
  if (moveFocus) main.focus({ preventScroll: true });
}

async function enter(): Promise<void> {
  const s = await refreshSession();
  if (s === undefined || s.stage !== 'full') {
    signedOut('Sign in to continue.');
    return;
  }
  if (location.search !== '') history.replaceState(null, '', `/ui/${location.hash}`);
  lastRefresh = Date.now();
  ticker ??= window.setInterval(tick, 1000);
  await show(false);
  tick();
}

async function start(): Promise<void> {
  await loadPermissions();
  onSignedOut(() => {
    signedOut('Your session ended. Sign in again to continue.');
  });
  onActivity(() => {
    if (Date.now() - lastRefresh < REFRESH_MS) return;
    lastRefresh = Date.now();
    void refreshSession().then(tick);
  });
  window.addEventListener('hashchange', () => {
    if (session() !== undefined) void show(true);
  });
  const s = await refreshSession();
  if (s?.stage === 'full') await enter();
  else signedOut(new URLSearchParams(location.search).has('error') ? 'Single sign-on did not complete. Try again.' : '');
}

void start();
