import { api, describe } from '../lib/api.ts';
import { emptyState, field, fill, h, notice, table, timeZone, when } from '../lib/dom.ts';
import { can, session } from '../lib/session.ts';

interface Member {
  readonly userId: string;
  readonly email: string;
  readonly role: string;
  readonly createdAt: string;
}

const ROLES = ['owner', 'admin', 'member', 'viewer'];

function roleSelect(selected: string, label?: string): HTMLSelectElement {
  const mine = session()?.role;
  return h(
    'select',
    { name: 'role', ...(label === undefined ? {} : { 'aria-label': label }) },
    ...ROLES.filter((r) => mine === 'owner' || r !== 'owner' || r === selected).map((r) => h('option', { value: r, selected: r === selected }, r)),
  );
}

export async function renderMembers(main: HTMLElement): Promise<void> {
  const status = h('div', { class: 'status' });
  const list = h('div', {});

  async function reload(): Promise<void> {
    const { members } = await api.get<{ members: Member[] }>('/members');
    const rows = members.map((m) => {
      const actions = h('div', { class: 'row-actions' });
      const self = m.userId === session()?.userId;
      if (can('member.update') && !self) {
        const role = roleSelect(m.role, `Role of ${m.email}`);
        const save = h('button', { type: 'button', class: 'secondary', 'aria-label': `Save role of ${m.email}` }, 'Save role');
        save.addEventListener('click', () => {
          api
            .patch(`/members/${encodeURIComponent(m.userId)}`, { role: role.value })
            .then(async () => {
              fill(status, notice('ok', `${m.email} is now ${role.value}.`));
              await reload();
            })
            .catch((err: unknown) => {
              fill(status, notice('error', describe(err)));
            });
        });
        actions.append(role, save);
      }
      if (can('member.remove') && !self) {
        const remove = h('button', { type: 'button', class: 'danger', 'aria-label': `Remove ${m.email}` }, 'Remove');
        remove.addEventListener('click', () => {
          if (!confirm(`Remove ${m.email}? Their keys in this organisation are revoked at once.`)) return;
          api
            .del(`/members/${encodeURIComponent(m.userId)}`)
            .then(async () => {
              fill(status, notice('ok', `${m.email} removed.`));
              await reload();
            })
            .catch((err: unknown) => {
              fill(status, notice('error', describe(err)));
            });
        });
        actions.append(remove);
      }
      return [m.email, self ? `${m.role} (you)` : m.role, when(m.createdAt), actions];
    });
    fill(list, members.length === 0 ? emptyState('No members.') : table(`Members (times in ${timeZone()})`, ['Email', 'Role', 'Member since', 'Actions'], rows));
  }

  fill(main, h('h1', {}, 'Members and roles'), h('p', { class: 'lead' }, 'Owners and admins manage the organisation; members hold their own keys; viewers read.'), status, list);
  await reload();
  if (!can('member.add')) return;
  const email = h('input', { name: 'email', type: 'email', required: true, maxlength: 320, autocomplete: 'off' });
  const role = roleSelect('member');
  const submit = h('button', { type: 'submit' }, 'Add member');
  const form = h('form', { class: 'card', 'aria-labelledby': 'add-member-title' }, h('h2', { id: 'add-member-title' }, 'Add a member'), field('Email', email), field('Role', role), h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    submit.disabled = true;
    api
      .post<Member>('/members', { email: email.value, role: role.value })
      .then(async (m) => {
        form.reset();
        fill(status, notice('ok', `${m.email} added as ${m.role}.`));
        await reload();
      })
      .catch((err: unknown) => {
        fill(status, notice('error', describe(err)));
      })
      .finally(() => (submit.disabled = false));
  });
  main.append(form);
}
