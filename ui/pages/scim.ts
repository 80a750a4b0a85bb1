import { act, copyButton, statusSlot } from '../lib/act.ts';
import { api } from '../lib/api.ts';
import { emptyState, field, fill, h, table, timeZone, when } from '../lib/dom.ts';
import { can, session } from '../lib/session.ts';

interface TokenView {
  readonly id: string;
  readonly displayPrefix: string;
  readonly createdBy: string;
  readonly createdAt: string;
}

interface Mapping {
  readonly idpGroup: string;
  readonly role: string;
}

interface ScimSettings {
  readonly token: TokenView | null;
  readonly roleMappings: readonly Mapping[];
}

const ROLES = ['owner', 'admin', 'member', 'viewer'];

/** The token, once: closing the panel drops it from the page, and the gateway keeps only a hash of it. */
function shownOnce(slot: HTMLElement, token: string): void {
  let held = token;
  const close = h('button', { type: 'button' }, 'Done — I have copied it');
  const panel = h(
    'section',
    { class: 'card once', 'aria-labelledby': 'scim-once-title', 'data-testid': 'scim-once' },
    h('h2', { id: 'scim-once-title' }, 'The new SCIM token'),
    h('p', {}, 'This is the only time the token is shown. Paste it into your identity provider’s SCIM settings now; any earlier token stopped working.'),
    h('pre', { class: 'secret', 'data-testid': 'scim-token', tabindex: 0, 'aria-label': 'The new SCIM token' }, held),
    copyButton('Copy token', () => held),
    h('div', { class: 'actions' }, close),
  );
  close.addEventListener('click', () => {
    held = '';
    panel.remove();
  });
  fill(slot, panel);
  close.focus();
}

export async function renderScim(main: HTMLElement): Promise<void> {
  const status = statusSlot();
  const once = h('div', {});
  const tokenSlot = h('div', {});
  const mappingsSlot = h('div', {});
  const endpoint = new URL('/scim/v2', location.origin).toString();

  const saveMappings = (roleMappings: readonly Mapping[], ok: string) => act(status, () => api.patch('/scim', { roleMappings }), ok, reload);

  function renderToken(t: TokenView | null): void {
    const actions = h('div', { class: 'actions' });
    if (can('scim.token.rotate')) {
      const issue = h('button', { type: 'button' }, t === null ? 'Issue SCIM token' : 'Rotate SCIM token');
      issue.addEventListener('click', () => {
        if (t !== null && !confirm('Issue a new SCIM token? The current one stops working at once.')) return;
        void act(status, async () => {
          const { token } = await api.post<{ token: string }>('/scim/token', {});
          shownOnce(once, token);
        }, 'SCIM token issued.', reload);
      });
      actions.append(issue);
    }
    if (t !== null && can('scim.token.revoke')) {
      const revoke = h('button', { type: 'button', class: 'danger' }, 'Revoke SCIM token');
      revoke.addEventListener('click', () => {
        if (!confirm('Revoke the SCIM token? Provisioning stops until a new one is issued.')) return;
        void act(status, () => api.del('/scim/token'), 'SCIM token revoked: provisioning is off.', reload);
      });
      actions.append(revoke);
    }
    fill(
      tokenSlot,
      h('h2', {}, 'Token'),
      t === null
        ? emptyState('No SCIM token: provisioning is off.')
        : h(
            'dl',
            { class: 'detail', 'data-testid': 'scim-token-record' },
            h('dt', {}, 'Token'),
            h('dd', {}, h('code', {}, `${t.displayPrefix}…`), ' (the rest is never shown again)'),
            h('dt', {}, 'Issued by'),
            h('dd', {}, h('code', {}, t.createdBy)),
            h('dt', {}, `Issued (${timeZone()})`),
            h('dd', {}, when(t.createdAt)),
          ),
      actions,
    );
  }

  function renderMappings(mappings: readonly Mapping[]): void {
    const editable = can('scim.mapping.update');
    const rows = mappings.map((m, i) => {
      const cells = [h('code', { 'data-testid': 'scim-group' }, m.idpGroup), m.role];
      if (!editable) return cells;
      const remove = h('button', { type: 'button', class: 'danger', 'aria-label': `Remove the mapping of ${m.idpGroup}` }, 'Remove');
      remove.addEventListener('click', () => {
        if (!confirm(`Remove the mapping of “${m.idpGroup}”? Its people lose the role it gave them at once.`)) return;
        void saveMappings(mappings.filter((_, j) => j !== i), `Mapping of “${m.idpGroup}” removed.`);
      });
      return [...cells, remove];
    });
    fill(
      mappingsSlot,
      h('h2', {}, 'Groups and roles'),
      h('p', { class: 'hint' }, 'A person provisioned by the identity provider gets the highest role of their groups; with no mapped group, they are not a member.'),
      mappings.length === 0 ? emptyState('No group is mapped to a role yet.') : table('IdP groups mapped to roles', editable ? ['IdP group', 'Role', 'Actions'] : ['IdP group', 'Role'], rows),
    );
    if (!editable) return;
    const group = h('input', { name: 'idp-group', required: true, maxlength: 256, autocomplete: 'off' });
    const mine = session()?.role;
    const role = h('select', { name: 'role' }, ...ROLES.filter((r) => mine === 'owner' || r !== 'owner').map((r) => h('option', { value: r, selected: r === 'member' }, r)));
    const submit = h('button', { type: 'submit' }, 'Add mapping');
    const form = h('form', { class: 'card', 'aria-label': 'Map a group to a role' }, h('h3', {}, 'Map a group to a role'), field('IdP group (displayName or externalId, exact)', group), field('Role', role), h('div', { class: 'actions' }, submit));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const idpGroup = group.value.trim();
      const next = [...mappings.filter((m) => m.idpGroup !== idpGroup), { idpGroup, role: role.value }];
      void saveMappings(next, `“${idpGroup}” now gives the role ${role.value}.`);
    });
    mappingsSlot.append(form);
  }

  async function reload(): Promise<void> {
    const settings = await api.get<ScimSettings>('/scim');
    renderToken(settings.token);
    renderMappings(settings.roleMappings);
  }

  fill(
    main,
    h('h1', {}, 'SCIM provisioning'),
    h('p', { class: 'lead' }, 'Your identity provider adds, changes and removes members through SCIM 2.0 with a bearer token.'),
    h('p', {}, 'SCIM base URL: ', h('code', { 'data-testid': 'scim-endpoint' }, endpoint), ' ', copyButton('Copy the SCIM base URL', () => endpoint)),
    status,
    once,
    tokenSlot,
    mappingsSlot,
  );
  await reload();
}
