import { api, describe } from '../lib/api.ts';
import { copyButton } from '../lib/act.ts';
import { scopeChoices } from '../lib/catalog.ts';
import { emptyState, field, fill, h, notice, table, timeZone, uid, when } from '../lib/dom.ts';
import { can, session } from '../lib/session.ts';

interface KeyView {
  readonly id: string;
  readonly userId: string | null;
  readonly name: string;
  readonly displayPrefix: string;
  readonly role: string;
  readonly scopes: readonly string[];
  readonly createdAt: string;
  readonly expiresAt: string | null;
  readonly status: 'active' | 'revoked' | 'expired';
}

interface Created {
  readonly key: string;
  readonly record: KeyView;
}

const ROLES = ['owner', 'admin', 'member', 'viewer'];
const EXPIRY_DAYS: readonly [string, number | null][] = [['7 days', 7], ['30 days', 30], ['90 days', 90], ['1 year', 365], ['Never', null]];

/** What a client pastes: the same `mcpServers` block `gatehouse keys create` prints, pointing at this gateway. */
export function clientConfig(key: string): string {
  const url = new URL('/mcp', location.origin).toString();
  return JSON.stringify({ mcpServers: { gatehouse: { type: 'http', url, headers: { Authorization: `Bearer ${key}` } } } }, null, 2);
}

/** The key, once: when this panel is closed it is gone from the page, and the gateway never shows it again. */
function shownOnce(slot: HTMLElement, created: Created, title: string): void {
  let key = created.key;
  const close = h('button', { type: 'button' }, 'Done — I have copied it');
  const panel = h(
    'section',
    { class: 'card once', 'aria-labelledby': 'once-title', 'data-testid': 'key-once' },
    h('h2', { id: 'once-title' }, title),
    h('p', {}, 'This is the only time the key is shown. Copy it now: the gateway keeps only a keyed hash of it.'),
    h('pre', { class: 'secret', 'data-testid': 'new-key', tabindex: 0, 'aria-label': 'The new API key' }, key),
    copyButton('Copy key', () => key),
    h('h3', {}, 'Client configuration'),
    h('p', {}, 'Paste this into your MCP client’s configuration (Claude Desktop, Cursor, VS Code and others that take a remote server):'),
    h('pre', { class: 'config', 'data-testid': 'client-config', tabindex: 0, 'aria-label': 'Client configuration' }, clientConfig(key)),
    copyButton('Copy configuration', () => clientConfig(key)),
    h('div', { class: 'actions' }, close),
  );
  close.addEventListener('click', () => {
    key = '';
    panel.remove();
  });
  fill(slot, panel);
  close.focus();
}

async function createForm(slot: HTMLElement, reload: () => Promise<void>): Promise<HTMLElement> {
  const choices = await scopeChoices();
  const me = session();
  const name = h('input', { name: 'name', required: true, maxlength: 64, autocomplete: 'off' });
  const role = h('select', { name: 'role' }, ...ROLES.filter((r) => me?.role === 'owner' || r !== 'owner').map((r) => h('option', { value: r, selected: r === 'member' }, r)));
  const expiry = h('select', { name: 'expiry' }, ...EXPIRY_DAYS.map(([label, days]) => h('option', { value: days === null ? '' : String(days), selected: days === 30 }, label)));
  const legendId = uid('scopes');
  const scopes = h(
    'fieldset',
    { class: 'scopes', 'aria-describedby': `${legendId}-hint` },
    h('legend', { id: legendId }, 'Scopes'),
    h('small', { id: `${legendId}-hint`, class: 'hint' }, 'What the key may call; never wider than your own rights.'),
    ...choices.map((c) => {
      const id = uid('scope');
      return h('div', { class: 'check' }, h('input', { type: 'checkbox', id, name: 'scope', value: c.value }), h('label', { for: id }, c.label));
    }),
  );
  const status = h('div', { class: 'status' });
  const submit = h('button', { type: 'submit' }, 'Create key');
  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': 'create-key-title' },
    h('h2', { id: 'create-key-title' }, 'Create a key'),
    field('Name', name, 'For you: what or who uses this key'),
    field('Role', role),
    field('Expires after', expiry),
    scopes,
    status,
    h('div', { class: 'actions' }, submit),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const picked = [...scopes.querySelectorAll<HTMLInputElement>('input[name=scope]:checked')].map((i) => i.value);
    if (picked.length === 0) {
      fill(status, notice('error', 'Choose at least one scope.'));
      return;
    }
    const days = expiry.value === '' ? null : Number(expiry.value);
    const body = { name: name.value, role: role.value, scopes: picked, ...(days === null ? {} : { expiresAt: new Date(Date.now() + days * 86_400_000).toISOString() }) };
    submit.disabled = true;
    api
      .post<Created>('/keys', body)
      .then(async (created) => {
        form.reset();
        fill(status);
        await reload();
        shownOnce(slot, created, `Key “${created.record.name}” created`);
      })
      .catch((err: unknown) => { fill(status, notice('error', describe(err))); })
      .finally(() => (submit.disabled = false));
  });
  return form;
}

export async function renderKeys(main: HTMLElement): Promise<void> {
  const once = h('div', {});
  const list = h('div', {});
  const status = h('div', { class: 'status' });

  async function reload(): Promise<void> {
    const { keys } = await api.get<{ keys: KeyView[] }>('/keys');
    if (keys.length === 0) {
      fill(list, emptyState(can('key.create') ? 'No keys yet. Create one below to connect an agent.' : 'No keys yet.'));
      return;
    }
    const rows = keys.map((k) => {
      const actions = h('div', { class: 'row-actions' });
      if (k.status === 'active' && can('key.rotate')) {
        const rotate = h('button', { type: 'button', class: 'secondary', 'aria-label': `Rotate ${k.name}` }, 'Rotate');
        rotate.addEventListener('click', () => {
          if (!confirm(`Rotate “${k.name}”? The current key stops working at once.`)) return;
          api
            .post<Created>(`/keys/${encodeURIComponent(k.id)}/rotate`)
            .then(async (created) => {
              await reload();
              shownOnce(once, created, `Key “${created.record.name}” rotated`);
            })
            .catch((err: unknown) => { fill(status, notice('error', describe(err))); });
        });
        actions.append(rotate);
      }
      if (k.status === 'active' && can('key.revoke')) {
        const revoke = h('button', { type: 'button', class: 'danger', 'aria-label': `Revoke ${k.name}` }, 'Revoke');
        revoke.addEventListener('click', () => {
          if (!confirm(`Revoke “${k.name}”? It stops working on its next request.`)) return;
          api
            .post(`/keys/${encodeURIComponent(k.id)}/revoke`)
            .then(async () => {
              await reload();
              fill(status, notice('ok', `Key “${k.name}” revoked.`));
            })
            .catch((err: unknown) => { fill(status, notice('error', describe(err))); });
        });
        actions.append(revoke);
      }
      return [k.name, h('code', {}, `${k.displayPrefix}…`), k.role, k.scopes.join(', '), when(k.createdAt), when(k.expiresAt), h('span', { class: `badge ${k.status}` }, k.status), actions];
    });
    fill(list, table(`Keys (times in ${timeZone()})`, ['Name', 'Key', 'Role', 'Scopes', 'Created', 'Expires', 'Status', 'Actions'], rows));
  }

  fill(main, h('h1', {}, 'API keys'), h('p', { class: 'lead' }, 'Agents connect with these keys. A key is shown once, when it is created or rotated.'), status, once, list);
  await reload();
  if (can('key.create')) main.append(await createForm(once, reload));
}
