import { act, statusSlot } from '../lib/act.ts';
import { api } from '../lib/api.ts';
import { emptyState, fill, h, table, timeZone, when } from '../lib/dom.ts';
import { can } from '../lib/session.ts';

interface Approval {
  readonly id: string;
  readonly keyId: string;
  readonly connector: string;
  readonly tool: string;
  /** As the audit log keeps them: secret fields redacted, long values clipped. */
  readonly arguments: string;
  /** SHA-256 of the exact call (key, tool, canonical arguments): what the approver compares with what the agent said. */
  readonly digest: string;
  readonly state: string;
  readonly requestedAt: string;
  readonly expiresAt: string;
}

/** The digest in groups of eight, so a person can compare it with the one the agent's user was shown. */
function digestView(digest: string): HTMLElement {
  return h('code', { class: 'wrap', 'data-testid': 'approval-digest', title: digest }, digest.match(/.{1,8}/g)?.join(' ') ?? digest);
}

export async function renderApprovals(main: HTMLElement): Promise<void> {
  const status = statusSlot();
  const list = h('div', {});

  async function reload(): Promise<void> {
    const { approvals } = await api.get<{ approvals: Approval[] }>('/approvals');
    const rows = approvals.map((a) => {
      const call = `${a.connector}/${a.tool}`;
      const actions = h('div', { class: 'row-actions' });
      if (can('approval.decide')) {
        for (const [verb, label, kind] of [['approve', 'Approve', ''], ['deny', 'Deny', 'danger']] as const) {
          const button = h('button', { type: 'button', class: kind, 'aria-label': `${label} the call of ${call} (${a.id})` }, label);
          button.addEventListener('click', () => {
            for (const b of actions.querySelectorAll('button')) b.disabled = true;
            const done = verb === 'approve' ? `Approved: the next identical retry of ${call} runs, once.` : `Denied: the call of ${call} does not run; a retry asks afresh.`;
            void act(status, () => api.post(`/approvals/${encodeURIComponent(a.id)}/${verb}`, {}), done, reload).then((taken) => {
              if (!taken) for (const b of actions.querySelectorAll('button')) b.disabled = false;
            });
          });
          actions.append(button);
        }
      }
      return [
        h('code', { 'data-testid': 'approval-tool' }, call),
        h('code', {}, a.keyId),
        h('pre', { class: 'wrap', 'data-testid': 'approval-arguments' }, a.arguments),
        digestView(a.digest),
        when(a.requestedAt),
        when(a.expiresAt),
        actions,
      ];
    });
    const headers = ['Tool', 'Key', 'Arguments (redacted)', 'Digest (SHA-256)', 'Requested', 'Expires'];
    fill(
      list,
      approvals.length === 0
        ? emptyState('No calls are waiting for approval.')
        : table(`Calls waiting for approval, oldest first (times in ${timeZone()})`, can('approval.decide') ? [...headers, 'Decision'] : headers, rows.map((r) => (can('approval.decide') ? r : r.slice(0, -1)))),
    );
  }

  const refresh = h('button', { type: 'button', class: 'secondary' }, 'Refresh');
  refresh.addEventListener('click', () => {
    void act(status, reload, 'Up to date.');
  });
  fill(
    main,
    h('h1', {}, 'Approvals'),
    h(
      'p',
      { class: 'lead' },
      'Tool calls held until a person says yes. An approval is bound to the key, the tool and the exact arguments (the digest), and lets one identical retry run.',
    ),
    status,
    h('div', { class: 'actions' }, refresh),
    list,
  );
  await reload();
}
