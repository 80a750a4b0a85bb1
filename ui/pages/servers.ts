import { act, copyButton, lines, statusSlot } from '../lib/act.ts';
import { api, describe } from '../lib/api.ts';
import { scopeChoices } from '../lib/catalog.ts';
import { emptyState, field, fill, h, notice, table, timeZone, uid, when } from '../lib/dom.ts';
import { can } from '../lib/session.ts';

interface VirtualServer {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly tools: readonly string[];
  readonly prompts: readonly string[];
  readonly resources: readonly string[];
  readonly unprefixed: boolean;
  readonly endpoint: string;
  readonly updatedAt: string;
}

function endpointUrl(s: VirtualServer): string {
  return new URL(s.endpoint, location.origin).toString();
}

function patternList(patterns: readonly string[]): HTMLElement {
  if (patterns.length === 0) return h('span', { class: 'hint' }, 'none');
  return h('ul', { class: 'plain' }, ...patterns.map((p) => h('li', {}, h('code', {}, p))));
}

/** Tools are chosen from the live catalog; patterns it does not list (a prefix with *) are typed below it. */
function serverForm(existing: VirtualServer | undefined, choices: readonly { value: string; label: string }[], done: (name: string) => Promise<void>, cancel: () => void): HTMLElement {
  const name = h('input', { name: 'name', required: true, maxlength: 32, autocomplete: 'off', pattern: '[a-z0-9]+(-[a-z0-9]+)*', value: existing?.name ?? '', disabled: existing !== undefined });
  const description = h('input', { name: 'description', maxlength: 200, autocomplete: 'off', value: existing?.description ?? '' });
  const known = new Set(choices.map((c) => c.value));
  const chosen = new Set(existing?.tools ?? []);
  const legendId = uid('tools');
  const tools = h(
    'fieldset',
    { class: 'scopes' },
    h('legend', { id: legendId }, 'Tools'),
    ...choices.map((c) => {
      const id = uid('tool');
      return h('div', { class: 'check' }, h('input', { type: 'checkbox', id, name: 'tool', value: c.value, checked: chosen.has(c.value) }), h('label', { for: id }, c.label));
    }),
  );
  const more = h('textarea', { name: 'more-tools', rows: 2, class: 'code', spellcheck: false, placeholder: 'github/list_*' });
  more.value = [...chosen].filter((t) => !known.has(t)).join('\n');
  const prompts = h('textarea', { name: 'prompts', rows: 2, class: 'code', spellcheck: false });
  prompts.value = (existing?.prompts ?? []).join('\n');
  const resources = h('textarea', { name: 'resources', rows: 2, class: 'code', spellcheck: false });
  resources.value = (existing?.resources ?? []).join('\n');
  const unprefixed = h('input', { type: 'checkbox', id: uid('unprefixed'), checked: existing?.unprefixed ?? false });
  const status = statusSlot();
  const submit = h('button', { type: 'submit' }, existing === undefined ? 'Create server' : 'Save changes');
  const cancelButton = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
  cancelButton.addEventListener('click', cancel);
  const title = existing === undefined ? 'Create a virtual server' : `Edit ${existing.name}`;
  const form = h(
    'form',
    { class: 'card', 'aria-label': title },
    h('h2', {}, title),
    field('Name', name, 'Lowercase letters, digits and inner hyphens; it names the endpoint and cannot change'),
    field('Description', description),
    tools,
    field('Other tool patterns (one a line)', more, '<connector>/<tool>, <connector>, * — a trailing * matches a prefix'),
    field('Prompt patterns (one a line)', prompts),
    field('Resources: connectors (one a line)', resources, '<connector> or *'),
    h('div', { class: 'check' }, unprefixed, h('label', { for: unprefixed.id }, 'Show upstream names without the connector prefix where they do not collide')),
    status,
    h('div', { class: 'actions' }, submit, cancelButton),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const picked = [...tools.querySelectorAll<HTMLInputElement>('input[name=tool]:checked')].map((i) => i.value);
    const definition = { description: description.value, tools: [...new Set([...picked, ...lines(more.value)])], prompts: lines(prompts.value), resources: lines(resources.value), unprefixed: unprefixed.checked };
    submit.disabled = true;
    const change = existing === undefined ? () => api.post('/servers', { name: name.value, ...definition }) : () => api.patch(`/servers/${encodeURIComponent(existing.name)}`, definition);
    void act(status, change, 'Saved.', () => done(existing?.name ?? name.value)).finally(() => (submit.disabled = false));
  });
  return form;
}

export async function renderServers(main: HTMLElement): Promise<void> {
  const status = statusSlot();
  const formSlot = h('div', {});
  const list = h('div', {});
  const choices = can('virtual_server.create') || can('virtual_server.update') ? await scopeChoices() : [];

  function open(existing: VirtualServer | undefined): void {
    fill(formSlot, serverForm(existing, choices, async (name) => {
      formSlot.replaceChildren();
      await act(status, reload, `Virtual server “${name}” saved.`);
    }, () => { formSlot.replaceChildren(); }));
    formSlot.querySelector<HTMLElement>('input:not([disabled])')?.focus();
  }

  async function reload(): Promise<void> {
    const { servers } = await api.get<{ servers: VirtualServer[] }>('/servers');
    const rows = servers.map((s) => {
      const actions = h('div', { class: 'row-actions' });
      if (can('virtual_server.update')) {
        const edit = h('button', { type: 'button', class: 'secondary', 'aria-label': `Edit ${s.name}` }, 'Edit');
        edit.addEventListener('click', () => { open(s); });
        actions.append(edit);
      }
      if (can('virtual_server.delete')) {
        const remove = h('button', { type: 'button', class: 'danger', 'aria-label': `Delete ${s.name}` }, 'Delete');
        remove.addEventListener('click', () => {
          if (!confirm(`Delete the virtual server “${s.name}”? Agents connected to its endpoint lose it.`)) return;
          api
            .del<{ affectedKeys: string[] }>(`/servers/${encodeURIComponent(s.name)}`)
            .then(async ({ affectedKeys }) => {
              const keys = affectedKeys.length === 0 ? '' : ` ${String(affectedKeys.length)} key(s) restricted to it now reach nothing: revoke them on the API keys page.`;
              await reload();
              fill(status, notice('ok', `Virtual server “${s.name}” deleted.${keys}`));
            })
            .catch((err: unknown) => { fill(status, notice('error', describe(err))); });
        });
        actions.append(remove);
      }
      const url = endpointUrl(s);
      return [
        h('span', { 'data-testid': 'server-name' }, s.name),
        h('span', { 'data-testid': 'server-description' }, s.description === '' ? '—' : s.description),
        patternList(s.tools),
        h('span', {}, h('code', { 'data-testid': 'server-endpoint' }, url), ' ', copyButton(`Copy the endpoint of ${s.name}`, () => url)),
        when(s.updatedAt),
        actions,
      ];
    });
    fill(list, servers.length === 0 ? emptyState('No virtual servers yet.') : table(`Virtual servers (times in ${timeZone()})`, ['Name', 'Description', 'Tools', 'Endpoint', 'Changed', 'Actions'], rows));
  }

  const add = can('virtual_server.create') ? h('button', { type: 'button' }, 'Create virtual server') : null;
  add?.addEventListener('click', () => { open(undefined); });
  fill(
    main,
    h('h1', {}, 'Virtual servers'),
    h('p', { class: 'lead' }, 'A chosen part of the catalog on its own MCP endpoint: agents connected there see only these tools.'),
    status,
    add,
    formSlot,
    list,
  );
  await reload();
}
