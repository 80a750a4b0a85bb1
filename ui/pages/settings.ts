import { api, describe } from '../lib/api.ts';
import { parseCidrLines } from '../lib/cidr.ts';
import { field, fill, h, notice, uid } from '../lib/dom.ts';
import { can, session } from '../lib/session.ts';

interface SignInSettings {
  readonly sessionIdleMinutes: number;
  readonly sessionMaxHours: number;
  readonly requireMfa: boolean;
  readonly passwordLogin: boolean;
  readonly oidc: { issuer: string; clientId: string } | null;
}

interface Plane {
  readonly plane: 'mcp' | 'api';
  readonly restricted: boolean;
  readonly cidrs: string[] | null;
}

interface Traffic {
  readonly orgLimit: string | null;
  readonly keyTiers: Record<string, string>;
}

interface KeyView {
  readonly id: string;
  readonly name: string;
  readonly status: string;
}

const LIMIT = /^\d{1,9}\/[smh](,burst=\d{1,9})?$/;
const TIERS = ['', 'unlimited', '5', '10', '100', '1000'];
const PLANE_NAMES = { mcp: 'MCP endpoints (agents)', api: 'Dashboard, admin API and sign-in' } as const;

function statusSlot(): HTMLElement {
  return h('div', { class: 'status' });
}

function signInCard(orgId: string, s: SignInSettings): HTMLElement {
  const disabled = !can('sign_in.update');
  const requireMfa = h('input', { type: 'checkbox', name: 'requireMfa', checked: s.requireMfa, disabled });
  const idle = h('input', { type: 'number', name: 'idle', min: 15, max: 480, required: true, value: s.sessionIdleMinutes, disabled });
  const max = h('input', { type: 'number', name: 'max', min: 1, max: 168, required: true, value: s.sessionMaxHours, disabled });
  const status = statusSlot();
  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': 'signin-settings' },
    h('h2', { id: 'signin-settings' }, 'Sign-in'),
    h('div', { class: 'check' }, requireMfa, h('label', { for: (requireMfa.id = uid('mfa')) }, 'Require two-step sign-in (TOTP or the IdP’s MFA) for everyone')),
    field('Idle timeout (minutes)', idle, 'A session unused this long ends: 15 to 480'),
    field('Longest session (hours)', max, 'However active, a session ends after this: 1 to 168'),
    h('p', { class: 'hint' }, s.oidc === null ? 'Single sign-on: not set up (the CLI or API configures the IdP).' : `Single sign-on: ${s.oidc.issuer} (client ${s.oidc.clientId}; its secret is set and never shown).`),
    status,
    disabled ? null : h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Save sign-in settings')),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    api
      .patch(`/organisations/${encodeURIComponent(orgId)}/sign-in`, { requireMfa: requireMfa.checked, sessionIdleMinutes: Number(idle.value), sessionMaxHours: Number(max.value) })
      .then(() => {
        fill(status, notice('ok', 'Saved. New limits apply to every session from its next request.'));
      })
      .catch((err: unknown) => {
        fill(status, notice('error', describe(err)));
      });
  });
  return form;
}

function planeCard(p: Plane): HTMLElement {
  const disabled = !can('network.update');
  const restricted = h('input', { type: 'checkbox', checked: p.restricted, disabled });
  const cidrs = h('textarea', { name: `cidrs-${p.plane}`, rows: 4, spellcheck: false, class: 'code', disabled, placeholder: '10.0.0.0/8\n2001:db8::/32' });
  cidrs.value = (p.cidrs ?? []).join('\n');
  const status = statusSlot();
  const title = `Allowlist: ${PLANE_NAMES[p.plane]}`;
  const form = h(
    'form',
    { class: 'card', 'aria-label': title },
    h('h3', {}, title),
    h('div', { class: 'check' }, restricted, h('label', { for: (restricted.id = uid('restricted')) }, 'Only these networks may connect')),
    field('Networks (CIDR, one a line)', cidrs, 'IPv4 or IPv6, such as 192.0.2.0/24 or 2001:db8::/32'),
    status,
    disabled ? null : h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Save allowlist')),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const { cidrs: good, bad } = parseCidrLines(cidrs.value);
    if (restricted.checked && bad.length > 0) {
      cidrs.setAttribute('aria-invalid', 'true');
      fill(status, notice('error', `Not a network in CIDR form: ${bad.join(', ')}`));
      cidrs.focus();
      return;
    }
    if (restricted.checked && good.length === 0) {
      fill(status, notice('error', 'Name at least one network, or untick the restriction.'));
      return;
    }
    cidrs.removeAttribute('aria-invalid');
    api
      .put(`/network/${p.plane}`, { cidrs: restricted.checked ? good : null })
      .then(() => {
        fill(status, notice('ok', 'Saved. It applies to the next request.'));
      })
      .catch((err: unknown) => {
        fill(status, notice('error', describe(err)));
      });
  });
  return form;
}

function trafficCard(t: Traffic, keys: readonly KeyView[]): HTMLElement {
  const disabled = !can('traffic.update');
  const orgLimit = h('input', { name: 'orgLimit', value: t.orgLimit ?? '', placeholder: '300/m,burst=50', disabled, maxlength: 64 });
  const status = statusSlot();
  const rows = keys
    .filter((k) => k.status === 'active')
    .map((k) => {
      const tier = h('select', { name: `tier-${k.id}`, disabled }, ...TIERS.map((x) => h('option', { value: x, selected: (t.keyTiers[k.id] ?? '') === x }, x === '' ? 'gateway default' : x === 'unlimited' ? 'unlimited' : `${x} requests/s`)));
      tier.addEventListener('change', () => {
        api
          .put(`/traffic/keys/${encodeURIComponent(k.id)}`, { tier: tier.value === '' ? null : tier.value })
          .then(() => {
            fill(status, notice('ok', `Tier of “${k.name}” saved.`));
          })
          .catch((err: unknown) => {
            fill(status, notice('error', describe(err)));
          });
      });
      return field(`Tier of key “${k.name}”`, tier);
    });
  const saveLimit = h('button', { type: 'button' }, 'Save organisation limit');
  saveLimit.addEventListener('click', () => {
    const value = orgLimit.value.trim();
    if (value !== '' && !LIMIT.test(value)) {
      orgLimit.setAttribute('aria-invalid', 'true');
      fill(status, notice('error', 'Write a limit as requests per second, minute or hour, such as 100/s or 300/m,burst=50.'));
      return;
    }
    orgLimit.removeAttribute('aria-invalid');
    api
      .put('/traffic/org-limit', { limit: value === '' ? null : value })
      .then(() => {
        fill(status, notice('ok', 'Organisation limit saved.'));
      })
      .catch((err: unknown) => {
        fill(status, notice('error', describe(err)));
      });
  });
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'traffic-title' },
    h('h2', { id: 'traffic-title' }, 'Rate limits'),
    field('Organisation limit (all keys together)', orgLimit, 'Empty: no limit of its own. Such as 100/s or 300/m,burst=50'),
    disabled ? null : h('div', { class: 'actions' }, saveLimit),
    h('h3', {}, 'Key tiers'),
    ...rows,
    status,
  );
}

export async function renderSettings(main: HTMLElement): Promise<void> {
  const orgId = session()?.orgId ?? '';
  const status = statusSlot();
  fill(main, h('h1', {}, 'Security settings'), status);
  try {
    const [signIn, network, traffic, keys] = await Promise.all([
      can('sign_in.read') ? api.get<SignInSettings>(`/organisations/${encodeURIComponent(orgId)}/sign-in`) : undefined,
      can('network.read') ? api.get<{ planes: Plane[] }>('/network') : undefined,
      can('traffic.read') ? api.get<Traffic>('/traffic') : undefined,
      can('traffic.read') ? api.get<{ keys: KeyView[] }>('/keys') : undefined,
    ]);
    if (signIn !== undefined) main.append(signInCard(orgId, signIn));
    if (network !== undefined) main.append(h('section', { 'aria-labelledby': 'network-title' }, h('h2', { id: 'network-title' }, 'Network allowlists'), ...network.planes.map(planeCard)));
    if (traffic !== undefined) main.append(trafficCard(traffic, keys?.keys ?? []));
  } catch (err) {
    fill(status, notice('error', describe(err)));
  }
}
