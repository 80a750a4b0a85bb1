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
  readonly status: 'active' | 'retiring' | 'revoked' | 'expired';
  readonly rotationDays: number | null;
  readonly rotationDueAt: string | null;
  readonly rotationStatus: 'none' | 'scheduled' | 'due' | 'overdue';
  readonly retiresAt: string | null;
}

interface Created {
  readonly key: string;
  readonly record: KeyView;
  /** After a rotation with an overlap: when the old key stops working. */
  readonly retiresAt?: string | null;
}

const ROLES = ['owner', 'admin', 'member', 'viewer'];
const EXPIRY_DAYS: readonly [string, number | null][] = [['7 days', 7], ['30 days', 30], ['90 days', 90], ['1 year', 365], ['Never', null]];
const ROTATION_DAYS: readonly [string, number | null][] = [['No schedule', null], ['30 days', 30], ['60 days', 60], ['90 days', 90], ['180 days', 180]];
/** How long a rotated key may keep working beside its replacement (the API allows up to 30 days). */
const OVERLAPS: readonly [string, number][] = [['None: it stops at once', 0], ['1 hour', 3600], ['1 day', 86_400], ['7 days', 7 * 86_400], ['30 days', 30 * 86_400]];

function options(choices: readonly (readonly [string, number | null])[], selected: number | null): HTMLOptionElement[] {
  return choices.map(([label, value]) => h('option', { value: value === null ? '' : String(value), selected: value === selected }, label));
}

/** The schedule as one cell: its period, when it falls due, and whether it has (a retiring key: when it stops). */
function rotationCell(k: KeyView): HTMLElement | string {
  if (k.status === 'retiring') return h('span', {}, h('span', { class: 'badge pending' }, 'retiring'), ` stops ${when(k.retiresAt)}`);
  if (k.rotationDays === null) return '—';
  const due = k.rotationStatus === 'due' || k.rotationStatus === 'overdue';
  return h('span', {}, `every ${String(k.rotationDays)} days, due ${when(k.rotationDueAt)}`, due ? h('span', { class: 'badge expired' }, k.rotationStatus) : null);
}

/**
 * A small form in `slot` for one key: its controls, a submit button and a cancel; `run` does the change and
 * answers what to say. Nothing is sent until the person presses the button.
 */
function keyPanel(slot: HTMLElement, title: string, controls: readonly HTMLElement[], button: string, run: () => Promise<string | undefined>): void {
  const status = h('div', { class: 'status' });
  const submit = h('button', { type: 'submit' }, button);
  const cancel = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
  const form = h('form', { class: 'card', 'aria-label': title }, h('h2', {}, title), ...controls, status, h('div', { class: 'actions' }, submit, cancel));
  cancel.addEventListener('click', () => {
    form.remove();
  });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    submit.disabled = true;
    run()
      .then((said) => {
        if (said !== undefined) fill(slot, notice('ok', said));
      })
      .catch((err: unknown) => {
        fill(status, notice('error', describe(err)));
        submit.disabled = false;
      });
  });
  fill(slot, form);
  (controls[0]?.querySelector('select, input') as HTMLElement | null)?.focus();
}

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
  const rotation = h('select', { name: 'rotation' }, ...options(ROTATION_DAYS, null));
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
    field('Rotate every', rotation, 'A due key is marked here and in the audit log; rotating it makes the new key'),
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
    const body = {
      name: name.value,
      role: role.value,
      scopes: picked,
      ...(days === null ? {} : { expiresAt: new Date(Date.now() + days * 86_400_000).toISOString() }),
      ...(rotation.value === '' ? {} : { rotationDays: Number(rotation.value) }),
    };
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
          const overlap = h('select', { name: 'overlap' }, ...options(OVERLAPS, 0));
          keyPanel(once, `Rotate “${k.name}”`, [field('The current key keeps working for', overlap, 'So the agents using it can move to the new key')], 'Rotate now', async () => {
            const seconds = Number(overlap.value);
            const created = await api.post<Created>(`/keys/${encodeURIComponent(k.id)}/rotate`, seconds === 0 ? undefined : { overlapSeconds: seconds });
            await reload();
            shownOnce(once, created, created.retiresAt ? `Key “${created.record.name}” rotated: the old one works until ${when(created.retiresAt)}` : `Key “${created.record.name}” rotated`);
            return undefined;
          });
        });
        actions.append(rotate);
      }
      if (k.status === 'active' && can('key.update')) {
        const schedule = h('button', { type: 'button', class: 'secondary', 'aria-label': `Rotation schedule of ${k.name}` }, 'Schedule');
        schedule.addEventListener('click', () => {
          const every = h('select', { name: 'rotationDays' }, ...options(ROTATION_DAYS, k.rotationDays));
          keyPanel(once, `Rotation schedule of “${k.name}”`, [field('Rotate every', every, 'Counted from when the key was made')], 'Save schedule', async () => {
            await api.patch(`/keys/${encodeURIComponent(k.id)}`, { rotationDays: every.value === '' ? null : Number(every.value) });
            await reload();
            return every.value === '' ? `“${k.name}” has no rotation schedule now.` : `“${k.name}” is to be rotated every ${every.value} days.`;
          });
        });
        actions.append(schedule);
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
      return [k.name, h('code', {}, `${k.displayPrefix}…`), k.role, k.scopes.join(', '), when(k.createdAt), when(k.expiresAt), rotationCell(k), h('span', { class: `badge ${k.status}` }, k.status), actions];
    });
    const due = keys.filter((k) => k.rotationStatus === 'due' || k.rotationStatus === 'overdue').length;
    fill(
      list,
      due === 0 ? null : notice('info', `${String(due)} key${due === 1 ? ' is' : 's are'} due for rotation: rotate ${due === 1 ? 'it' : 'them'} to replace the secret agents hold.`),
      table(`Keys (times in ${timeZone()})`, ['Name', 'Key', 'Role', 'Scopes', 'Created', 'Expires', 'Rotation', 'Status', 'Actions'], rows),
    );
  }

  fill(main, h('h1', {}, 'API keys'), h('p', { class: 'lead' }, 'Agents connect with these keys. A key is shown once, when it is created or rotated.'), status, once, list);
  await reload();
  if (can('key.create')) main.append(await createForm(once, reload));
}
