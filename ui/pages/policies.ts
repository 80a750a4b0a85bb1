import { api, describe } from '../lib/api.ts';
import { emptyState, field, fill, h, notice, table, timeZone, when } from '../lib/dom.ts';
import { can } from '../lib/session.ts';

interface Current {
  readonly active: boolean;
  readonly version: number | null;
  readonly text: string | null;
  readonly createdBy: string | null;
  readonly createdAt: string | null;
}

interface Version {
  readonly version: number;
  readonly active: boolean;
  readonly createdBy: string;
  readonly createdAt: string;
}

const EXAMPLE = `@id("no-delete")
forbid (principal, action, resource == Gatehouse::Tool::"github/delete_repo");

@id("everything-else")
permit (principal, action, resource);`;

/** The Cedar policy set: edited as text, saved as a new version, refused with the validator's own messages. */
export async function renderPolicies(main: HTMLElement): Promise<void> {
  const status = h('div', { class: 'status', 'data-testid': 'policy-status' });
  const versions = h('div', {});
  const editable = can('policy.update');
  const text = h('textarea', { name: 'policy', rows: 16, spellcheck: false, class: 'code', readonly: !editable, 'aria-describedby': 'policy-help' });
  const summary = h('p', {});

  async function reload(): Promise<void> {
    const [current, history] = await Promise.all([api.get<Current>('/policy'), api.get<{ versions: Version[] }>('/policy/versions')]);
    text.value = current.text ?? (editable ? EXAMPLE : '');
    fill(summary, current.active ? `Version ${String(current.version)} is in force, saved ${when(current.createdAt)} by ${current.createdBy ?? '—'}.` : 'No policy set is in force: Cedar is not consulted, roles and scopes decide alone.');
    fill(
      versions,
      history.versions.length === 0
        ? emptyState('No versions yet.')
        : table(`Versions (times in ${timeZone()})`, ['Version', 'Kind', 'Saved', 'By'], history.versions.map((v) => [String(v.version), v.active ? 'policies' : 'cleared', when(v.createdAt), v.createdBy])),
    );
  }

  const actions = h('div', { class: 'actions' });
  if (editable) {
    const save = h('button', { type: 'button' }, 'Validate and save');
    save.addEventListener('click', () => {
      save.disabled = true;
      api
        .put<{ version: number }>('/policy', { text: text.value })
        .then(async (v) => {
          fill(status, notice('ok', `Saved as version ${String(v.version)}; it applies from the next request.`));
          await reload();
        })
        .catch((err: unknown) => {
          fill(status, h('div', { class: 'notice error', role: 'alert' }, h('strong', {}, 'Not saved. '), h('pre', { class: 'wrap' }, describe(err))));
        })
        .finally(() => (save.disabled = false));
    });
    const clear = h('button', { type: 'button', class: 'danger' }, 'Clear the policy set');
    clear.addEventListener('click', () => {
      if (!confirm('Clear the policy set? Cedar will no longer be consulted.')) return;
      api
        .del('/policy')
        .then(async () => {
          fill(status, notice('ok', 'Cleared: Cedar is no longer consulted.'));
          await reload();
        })
        .catch((err: unknown) => {
          fill(status, notice('error', describe(err)));
        });
    });
    actions.append(save, clear);
  }
  // Loaded before the editor is shown: text typed into it must never be overwritten by the answer arriving late.
  await reload();
  fill(
    main,
    h('h1', {}, 'Policies'),
    h('p', { class: 'lead', id: 'policy-help' }, 'Cedar policies refuse what roles and scopes would allow; they never grant more. With a set in force every call needs a permit, and a forbid wins.'),
    summary,
    field(editable ? 'Policy set (Cedar)' : 'Policy set (Cedar, read only)', text),
    actions,
    status,
    h('h2', {}, 'History'),
    versions,
  );
}
