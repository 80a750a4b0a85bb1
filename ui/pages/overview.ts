import { describe } from '../lib/api.ts';
import { auditPage, type AuditRecord } from '../lib/audit.ts';
import { emptyState, fill, h, notice, svg, timeZone } from '../lib/dom.ts';

const HOURS = 24;
const MAX_PAGES = 10;

interface Bucket {
  readonly start: number;
  calls: number;
  denials: number;
  latencySum: number;
  latencyCount: number;
}

/** The last day's tool calls, read from the audit log a page at a time (at most MAX_PAGES × 1000 records). */
async function recentCalls(since: number): Promise<{ records: AuditRecord[]; complete: boolean }> {
  const records: AuditRecord[] = [];
  let after = 0;
  for (let i = 0; i < MAX_PAGES; i++) {
    const q = new URLSearchParams({ action: 'mcp.tools/call', since: new Date(since).toISOString(), limit: '1000', after: String(after) });
    const page = await auditPage(q);
    records.push(...page.records);
    if (page.nextAfter === null) return { records, complete: true };
    after = page.nextAfter;
  }
  return { records, complete: false };
}

const W = 640;
const H = 200;
const PAD = { left: 44, right: 8, top: 10, bottom: 28 };

/** A bar chart of one value per hour, drawn as SVG with a text table beside it for screen readers. */
function barChart(title: string, buckets: readonly Bucket[], value: (b: Bucket) => number, unit: string, cls: string): HTMLElement {
  const values = buckets.map(value);
  const highest = Math.max(0, ...values);
  const max = Math.max(1, highest);
  const innerW = W - PAD.left - PAD.right;
  const innerH = H - PAD.top - PAD.bottom;
  const bw = innerW / buckets.length;
  const hour = (b: Bucket) => new Date(b.start).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  const chart = svg(
    'svg',
    { viewBox: `0 0 ${String(W)} ${String(H)}`, class: 'chart', role: 'img', 'aria-label': `${title}, per hour, last ${String(HOURS)} hours` },
    svg('line', { x1: PAD.left, y1: PAD.top + innerH, x2: W - PAD.right, y2: PAD.top + innerH, class: 'axis' }),
    svg('text', { x: PAD.left - 6, y: PAD.top + 10, class: 'tick', 'text-anchor': 'end' }, String(Math.round(max))),
    svg('text', { x: PAD.left - 6, y: PAD.top + innerH, class: 'tick', 'text-anchor': 'end' }, '0'),
    ...buckets.map((b, i) => {
      const v = values[i] ?? 0;
      const bh = (v / max) * innerH;
      return svg(
        'rect',
        { x: PAD.left + i * bw + 1, y: PAD.top + innerH - bh, width: Math.max(1, bw - 2), height: bh, class: `bar ${cls}` },
        svg('title', {}, `${hour(b)}: ${String(Math.round(v))} ${unit}`),
      );
    }),
    ...buckets
      .filter((_, i) => i % 6 === 0)
      .map((b) => svg('text', { x: PAD.left + buckets.indexOf(b) * bw, y: H - 8, class: 'tick' }, hour(b))),
  );
  const total = values.reduce((a, b) => a + b, 0);
  return h('figure', { class: 'card' }, h('figcaption', {}, title), chart, h('p', { class: 'hint' }, `Highest hour: ${String(Math.round(highest))} ${unit}. ${unit === 'calls' || unit === 'denials' ? `Total: ${String(total)}.` : ''}`));
}

function topTools(records: readonly AuditRecord[]): HTMLElement {
  const counts = new Map<string, number>();
  for (const r of records) {
    const name = [r.targetConnector, r.targetName].filter((x) => x !== null).join('/');
    if (name !== '') counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  const top = [...counts].sort((a, b) => b[1] - a[1]).slice(0, 8);
  if (top.length === 0) return h('figure', { class: 'card' }, h('figcaption', {}, 'Top tools'), emptyState('No tool calls in this period.'));
  const max = top[0]?.[1] ?? 1;
  const rowH = 26;
  const chart = svg(
    'svg',
    { viewBox: `0 0 ${String(W)} ${String(top.length * rowH + 4)}`, class: 'chart', role: 'img', 'aria-label': 'Top tools by calls' },
    ...top.flatMap(([name, n], i) => [
      svg('text', { x: 0, y: i * rowH + 17, class: 'label' }, name.length > 40 ? `${name.slice(0, 39)}…` : name),
      svg('rect', { x: 300, y: i * rowH + 4, width: Math.max(2, (n / max) * (W - 360)), height: rowH - 8, class: 'bar calls' }),
      svg('text', { x: 306 + (n / max) * (W - 360), y: i * rowH + 17, class: 'tick' }, String(n)),
    ]),
  );
  return h('figure', { class: 'card' }, h('figcaption', {}, 'Top tools'), chart);
}

export async function renderOverview(main: HTMLElement): Promise<void> {
  const now = Date.now();
  const firstHour = Math.floor(now / 3_600_000) * 3_600_000 - (HOURS - 1) * 3_600_000;
  fill(main, h('h1', {}, 'Overview'), h('p', { class: 'loading' }, 'Reading the audit log…'));
  let data;
  try {
    data = await recentCalls(firstHour);
  } catch (err) {
    fill(main, h('h1', {}, 'Overview'), notice('error', describe(err)));
    return;
  }
  const buckets: Bucket[] = Array.from({ length: HOURS }, (_, i) => ({ start: firstHour + i * 3_600_000, calls: 0, denials: 0, latencySum: 0, latencyCount: 0 }));
  for (const r of data.records) {
    const b = buckets[Math.floor((Date.parse(r.ts) - firstHour) / 3_600_000)];
    if (b === undefined) continue;
    b.calls++;
    if (r.decision === 'deny') b.denials++;
    if (r.latencyMs !== null) {
      b.latencySum += r.latencyMs;
      b.latencyCount++;
    }
  }
  const denials = data.records.filter((r) => r.decision === 'deny').length;
  fill(
    main,
    h('h1', {}, 'Overview'),
    h('p', { class: 'lead' }, `Tool calls in the last ${String(HOURS)} hours, from the audit log (hours in ${timeZone()}).`),
    data.complete ? null : notice('info', 'Only the first records of a busy day are counted here.'),
    h(
      'ul',
      { class: 'stats' },
      h('li', {}, h('strong', { 'data-testid': 'stat-calls' }, String(data.records.length)), ' calls'),
      h('li', {}, h('strong', { 'data-testid': 'stat-denials' }, String(denials)), ' denied'),
    ),
    h(
      'div',
      { class: 'grid' },
      barChart('Calls', buckets, (b) => b.calls, 'calls', 'calls'),
      barChart('Denials', buckets, (b) => b.denials, 'denials', 'denials'),
      barChart('Average latency', buckets, (b) => (b.latencyCount === 0 ? 0 : b.latencySum / b.latencyCount), 'ms', 'latency'),
      topTools(data.records),
    ),
  );
}
