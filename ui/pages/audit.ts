import { api, describe } from '../lib/api.ts';
import { auditPage, type AuditRecord } from '../lib/audit.ts';
import { emptyState, field, fill, h, notice, table, timeZone, uid, when } from '../lib/dom.ts';
import { can, session } from '../lib/session.ts';

const PAGE_SIZE = 50;

interface AuditSettings {
  readonly retentionDays: number | null;
  readonly viewerExport: boolean;
}

/** Retention and the viewers' export grant: shown to every reader, changeable by owners (the API decides again). */
function settingsCard(s: AuditSettings): HTMLElement {
  const disabled = !can('audit.settings.update');
  const keep = h('input', { type: 'number', name: 'retentionDays', min: 1, max: 3650, value: s.retentionDays ?? '', disabled, placeholder: 'every record is kept' });
  const viewers = h('input', { type: 'checkbox', name: 'viewerExport', checked: s.viewerExport, disabled });
  const status = h('div', { class: 'status' });
  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': 'audit-settings' },
    h('h2', { id: 'audit-settings' }, 'Retention and export'),
    field('Keep records for (days)', keep, 'Empty: kept for ever. Older records go hourly, whole signed segments at a time, leaving a signed tombstone'),
    h('div', { class: 'check' }, viewers, h('label', { for: (viewers.id = uid('viewer-export')) }, 'Viewers may export the whole log (owners and admins always may)')),
    status,
    disabled ? null : h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Save retention and export')),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const days = keep.value.trim() === '' ? null : Number(keep.value);
    if (days !== null && (!Number.isInteger(days) || days < 1 || days > 3650)) {
      fill(status, notice('error', 'Keep records for a whole number of days from 1 to 3650, or leave it empty to keep every record.'));
      return;
    }
    api
      .patch<AuditSettings>('/audit/settings', { retentionDays: days, viewerExport: viewers.checked })
      .then((saved) => {
        fill(status, notice('ok', saved.retentionDays === null ? 'Saved: every record is kept.' : `Saved: records older than ${String(saved.retentionDays)} days go at the next hourly run.`));
      })
      .catch((err: unknown) => {
        fill(status, notice('error', describe(err)));
      });
  });
  return form;
}

interface Verify {
  readonly ok: boolean;
  readonly verified: number;
  readonly headHash: string;
  readonly firstBreak?: { seq: number; reason: string };
}

/** A datetime-local value (the viewer's own time) as the ISO instant the API filters by. */
function isoOf(local: string): string | undefined {
  if (local === '') return undefined;
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

function detail(slot: HTMLElement, r: AuditRecord): void {
  const rows: [string, string][] = [
    ['Sequence', String(r.seq)],
    ['Time', when(r.ts)],
    ['Action', r.action],
    ['Decision', r.decision],
    ['Reason', r.reason ?? '—'],
    ['Target', [r.targetConnector, r.targetName].filter((x) => x !== null).join('/') || '—'],
    ['User', r.actorUser ?? '—'],
    ['Key', r.actorKeyId ?? '—'],
    ['Client address', r.clientIp ?? '—'],
    ['Latency', r.latencyMs === null ? '—' : `${String(r.latencyMs)} ms`],
    ['Correlation id', r.correlationId ?? '—'],
    ['Arguments (redacted)', r.args ?? '—'],
    ['What the stages found', r.detail ?? '—'],
    ['Previous hash', r.prevHash],
    ['Hash', r.hash],
  ];
  const close = h('button', { type: 'button', class: 'secondary' }, 'Close');
  close.addEventListener('click', () => { slot.replaceChildren(); });
  fill(
    slot,
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'record-title', 'data-testid': 'audit-detail' },
      h('h2', { id: 'record-title' }, `Record ${String(r.seq)}`),
      h('dl', { class: 'detail' }, ...rows.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, h('code', { class: 'wrap' }, v))])),
      close,
    ),
  );
  close.focus();
}

export async function renderAudit(main: HTMLElement): Promise<void> {
  const action = h('input', { name: 'action', maxlength: 100, placeholder: 'key.* or mcp.tools/call', autocomplete: 'off' });
  const decision = h('select', { name: 'decision' }, h('option', { value: '' }, 'Any'), ...['allow', 'deny', 'error'].map((d) => h('option', { value: d }, d)));
  const user = h('input', { name: 'actorUser', maxlength: 320, autocomplete: 'off' });
  const since = h('input', { name: 'since', type: 'datetime-local', step: 1 });
  const until = h('input', { name: 'until', type: 'datetime-local', step: 1 });
  const status = h('div', { class: 'status' });
  const chain = h('div', { class: 'chain', 'data-testid': 'chain-status' });
  const results = h('div', {});
  const slot = h('div', {});
  const pager = h('div', { class: 'actions' });
  const exportLink = h('a', { class: 'button secondary', download: 'audit.ndjson', href: '/api/v1/audit/export' }, 'Export (NDJSON)');
  let cursors: number[] = [0];

  function filters(): URLSearchParams {
    const q = new URLSearchParams();
    if (action.value.trim() !== '') q.set('action', action.value.trim());
    if (decision.value !== '') q.set('decision', decision.value);
    if (user.value.trim() !== '') q.set('actorUser', user.value.trim());
    const s = isoOf(since.value);
    const u = isoOf(until.value);
    if (s !== undefined) q.set('since', s);
    if (u !== undefined) q.set('until', u);
    return q;
  }

  async function load(): Promise<void> {
    const q = filters();
    exportLink.href = `/api/v1/audit/export${q.toString() === '' ? '' : `?${q.toString()}`}`;
    q.set('limit', String(PAGE_SIZE));
    q.set('after', String(cursors.at(-1) ?? 0));
    let page;
    try {
      page = await auditPage(q);
    } catch (err) {
      fill(status, notice('error', describe(err)));
      return;
    }
    fill(status);
    const rows = page.records.map((r) => {
      const open = h('button', { type: 'button', class: 'secondary', 'aria-label': `Details of record ${String(r.seq)}` }, 'Details');
      open.addEventListener('click', () => { detail(slot, r); });
      return [String(r.seq), when(r.ts), h('code', {}, r.action), h('span', { class: `badge ${r.decision}` }, r.decision), r.reason ?? '', [r.targetConnector, r.targetName].filter((x) => x !== null).join('/'), r.actorUser ?? r.actorKeyId ?? '', open];
    });
    fill(results, page.records.length === 0 ? emptyState('No records match these filters.') : table(`Audit records (times in ${timeZone()})`, ['#', 'Time', 'Action', 'Decision', 'Reason', 'Target', 'Actor', ''], rows));
    const prev = h('button', { type: 'button', class: 'secondary', disabled: cursors.length <= 1 }, 'Previous page');
    const next = h('button', { type: 'button', class: 'secondary', disabled: page.nextAfter === null }, 'Next page');
    prev.addEventListener('click', () => {
      cursors = cursors.slice(0, -1);
      void load();
    });
    const nextAfter = page.nextAfter;
    next.addEventListener('click', () => {
      if (nextAfter === null) return;
      cursors = [...cursors, nextAfter];
      void load();
    });
    fill(pager, prev, next);
  }

  async function verify(): Promise<void> {
    if (!can('audit.verify')) return;
    fill(chain, 'Checking the hash chain…');
    try {
      const v = await api.get<Verify>('/audit/verify');
      fill(
        chain,
        v.ok
          ? notice('ok', `Chain intact: ${String(v.verified)} records verified.`)
          : notice('error', `Chain broken at record ${String(v.firstBreak?.seq ?? '?')}: ${v.firstBreak?.reason ?? 'unknown'}.`),
      );
    } catch (err) {
      fill(chain, notice('error', describe(err)));
    }
  }

  const form = h(
    'form',
    { class: 'card filters', 'aria-label': 'Filter the audit log' },
    field('Action', action, 'Exact, or a prefix ending in *'),
    field('Decision', decision),
    field('User id', user),
    field('From (your time)', since),
    field('Until (your time)', until),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Filter')),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    cursors = [0];
    void load();
  });
  // Viewers export only while an owner grants it (audit settings); the API refuses them otherwise, so no button.
  const settings = can('audit.settings.read') ? await api.get<AuditSettings>('/audit/settings') : undefined;
  const mayExport = can('audit.export') && (session()?.role !== 'viewer' || settings?.viewerExport === true);
  const reverify = h('button', { type: 'button', class: 'secondary' }, 'Verify chain');
  reverify.addEventListener('click', () => void verify());
  fill(
    main,
    h('h1', {}, 'Audit log'),
    h('p', { class: 'lead' }, 'Every decision the gateway made, in a hash chain: a changed or removed record breaks it.'),
    h('div', { class: 'actions' }, can('audit.verify') ? reverify : null, mayExport ? exportLink : null),
    chain,
    form,
    status,
    results,
    pager,
    slot,
    settings === undefined ? null : settingsCard(settings),
  );
  await Promise.all([load(), verify()]);
}
