import { act, statusSlot } from '../lib/act.ts';
import { api } from '../lib/api.ts';
import { emptyState, field, fill, h, table, timeZone, when } from '../lib/dom.ts';
import { can } from '../lib/session.ts';

interface Detection {
  readonly action: 'off' | 'redact' | 'block';
  readonly direction: 'pre' | 'post' | 'both';
}

interface Policy {
  readonly inputSchema?: boolean;
  readonly outputSchema?: boolean;
  readonly pii?: Detection;
  readonly secrets?: Detection;
  readonly outputCap?: { readonly bytes: number; readonly action: 'truncate' | 'refuse' };
}

interface DenyRule {
  readonly id: string;
  readonly tool: string;
  readonly path: string;
  readonly pattern: string;
  readonly ignoreCase: boolean;
}

interface GuardrailDocument extends Policy {
  readonly connectors: Readonly<Record<string, Policy>>;
  readonly tools: Readonly<Record<string, Policy>>;
  readonly denyRules: readonly DenyRule[];
}

const DIRECTIONS: Readonly<Record<string, string>> = { both: 'arguments and results', pre: 'arguments (before the call)', post: 'results (after the call)' };

function select(name: string, options: readonly (readonly [string, string])[], selected: string): HTMLSelectElement {
  return h('select', { name }, ...options.map(([value, label]) => h('option', { value, selected: value === selected }, label)));
}

/** What a policy sets, in words; unset fields come from the level above. */
function summary(p: Policy): HTMLElement {
  const parts: string[] = [];
  if (p.inputSchema !== undefined) parts.push(`input schema check ${p.inputSchema ? 'on' : 'off'}`);
  if (p.outputSchema !== undefined) parts.push(`output schema check ${p.outputSchema ? 'on' : 'off'}`);
  if (p.pii !== undefined) parts.push(`PII: ${p.pii.action}${p.pii.action === 'off' ? '' : ` in ${DIRECTIONS[p.pii.direction] ?? p.pii.direction}`}`);
  if (p.secrets !== undefined) parts.push(`secrets: ${p.secrets.action}${p.secrets.action === 'off' ? '' : ` in ${DIRECTIONS[p.secrets.direction] ?? p.secrets.direction}`}`);
  if (p.outputCap !== undefined) parts.push(`output cap ${String(p.outputCap.bytes)} bytes, then ${p.outputCap.action}`);
  if (parts.length === 0) return h('span', { class: 'hint' }, 'inherits everything');
  return h('ul', { class: 'plain' }, ...parts.map((t) => h('li', {}, t)));
}

/** The fields of one policy; “inherit” leaves a field to the level above (at the top, the gateway's defaults). */
function policyFields(p: Policy, inherit: string): { element: HTMLElement; read: () => Policy } {
  const flag = (v: boolean | undefined) => (v === undefined ? '' : v ? 'on' : 'off');
  const input = select('input-schema', [['', inherit], ['on', 'on'], ['off', 'off']], flag(p.inputSchema));
  const output = select('output-schema', [['', inherit], ['on', 'on'], ['off', 'off']], flag(p.outputSchema));
  const detection = (d: Detection | undefined, name: string) => ({
    action: select(`${name}-action`, [['', inherit], ['off', 'off'], ['redact', 'redact'], ['block', 'block']], d?.action ?? ''),
    direction: select(`${name}-direction`, Object.entries(DIRECTIONS), d?.direction ?? 'both'),
  });
  const pii = detection(p.pii, 'pii');
  const secrets = detection(p.secrets, 'secrets');
  const capBytes = h('input', { name: 'cap-bytes', type: 'number', min: 1024, max: 256 * 1024 * 1024, step: 1, inputmode: 'numeric', value: p.outputCap?.bytes ?? '' });
  const capAction = select('cap-action', [['truncate', 'truncate'], ['refuse', 'refuse']], p.outputCap?.action ?? 'truncate');
  const element = h(
    'div',
    { class: 'grid' },
    field('Check arguments against the tool’s input schema', input),
    field('Check results against the tool’s output schema', output),
    field('PII detection (emails, phone and card numbers, SSNs, IBANs)', pii.action),
    field('PII: where', pii.direction),
    field('Secret detection (tokens, private keys, JWTs)', secrets.action),
    field('Secrets: where', secrets.direction),
    field('Output cap (bytes, empty to inherit)', capBytes, 'At least 1024'),
    field('Above the cap', capAction),
  );
  const read = (): Policy => {
    const det = (d: typeof pii) => (d.action.value === '' ? undefined : { action: d.action.value as Detection['action'], direction: d.direction.value as Detection['direction'] });
    const out: { -readonly [K in keyof Policy]: Policy[K] } = {};
    if (input.value !== '') out.inputSchema = input.value === 'on';
    if (output.value !== '') out.outputSchema = output.value === 'on';
    const pd = det(pii);
    if (pd !== undefined) out.pii = pd;
    const sd = det(secrets);
    if (sd !== undefined) out.secrets = sd;
    if (capBytes.value.trim() !== '') out.outputCap = { bytes: Number(capBytes.value), action: capAction.value === 'refuse' ? 'refuse' : 'truncate' };
    return out;
  };
  return { element, read };
}

function ownPolicy(doc: GuardrailDocument): Policy {
  const { connectors: _c, tools: _t, denyRules: _d, ...policy } = doc;
  return policy;
}

export async function renderGuardrails(main: HTMLElement): Promise<void> {
  const status = statusSlot();
  const body = h('div', {});
  const editable = can('guardrails.update');

  function removeButton(label: string, confirmText: string, change: () => Promise<unknown>, done: string): HTMLElement | null {
    if (!editable) return null;
    const b = h('button', { type: 'button', class: 'danger', 'aria-label': label }, 'Remove');
    b.addEventListener('click', () => {
      if (!confirm(confirmText)) return;
      void act(status, change, done, reload);
    });
    return b;
  }

  function orgForm(doc: Policy): HTMLElement {
    const fields = policyFields(doc, 'default');
    const form = h('form', { class: 'card', 'aria-label': 'Organisation policy' }, h('h2', {}, 'Organisation policy'), h('p', { class: 'hint' }, 'Defaults: both schema checks on, PII and secret detection off, results capped at 4 MiB (truncated).'), fields.element);
    if (!editable) {
      for (const c of form.querySelectorAll('select, input')) c.setAttribute('disabled', '');
      return form;
    }
    const save = h('button', { type: 'submit' }, 'Save organisation policy');
    form.append(h('div', { class: 'actions' }, save));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      // The API replaces the whole document: the overrides and rules are read again just before, so a change someone
      // made to them since this page was drawn is kept (the organisation's own fields are the ones chosen here).
      const chosen = fields.read();
      void act(status, async () => {
        const { document: latest } = await api.get<{ document: GuardrailDocument }>('/guardrails');
        await api.put('/guardrails', { document: { ...chosen, connectors: latest.connectors, tools: latest.tools, denyRules: latest.denyRules } });
      }, 'Organisation policy saved. It applies to the next call.', reload);
    });
    return form;
  }

  function overrideForm(): HTMLElement {
    const target = h('input', { name: 'target', required: true, maxlength: 265, autocomplete: 'off', placeholder: 'github or github/create_issue' });
    const fields = policyFields({}, 'inherit');
    const submit = h('button', { type: 'submit' }, 'Add override');
    const form = h('form', { class: 'card', 'aria-label': 'Add an override' }, h('h2', {}, 'Add an override'), field('Connector, or connector/tool', target, 'A tool or prompt by the upstream’s own name; an existing override is replaced'), fields.element, h('div', { class: 'actions' }, submit));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const [connector = '', ...rest] = target.value.trim().split('/');
      const tool = rest.join('/');
      const path = tool === '' ? `/guardrails/connectors/${encodeURIComponent(connector)}` : `/guardrails/tools/${encodeURIComponent(connector)}/${encodeURIComponent(tool)}`;
      void act(status, () => api.put(path, { policy: fields.read() }), `Override for “${target.value.trim()}” saved.`, reload);
    });
    return form;
  }

  function ruleForm(): HTMLElement {
    const id = h('input', { name: 'rule-id', required: true, maxlength: 64, pattern: '[A-Za-z0-9_.\\-]{1,64}', autocomplete: 'off' });
    const tool = h('input', { name: 'rule-tool', required: true, maxlength: 200, autocomplete: 'off', placeholder: 'db/*' });
    const path = h('input', { name: 'rule-path', maxlength: 200, autocomplete: 'off', value: '$', class: 'code' });
    const pattern = h('input', { name: 'rule-pattern', required: true, maxlength: 512, autocomplete: 'off', class: 'code' });
    const ignoreCase = h('input', { type: 'checkbox', name: 'rule-ignore-case' });
    const submit = h('button', { type: 'submit' }, 'Add deny rule');
    const form = h(
      'form',
      { class: 'card', 'aria-label': 'Add a deny rule' },
      h('h2', {}, 'Add a deny rule'),
      field('Rule id', id, 'Letters, digits, _ . - ; an existing rule with this id is replaced'),
      field('Tools (connector/tool, * matches any run)', tool),
      field('JSON path into the arguments', path, '$, $.a.b, $.list[*].sql, $..sql'),
      field('Regular expression that refuses the call', pattern),
      field('Ignore case', ignoreCase),
      h('div', { class: 'actions' }, submit),
    );
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const rule = { tool: tool.value.trim(), path: path.value.trim() === '' ? '$' : path.value.trim(), pattern: pattern.value, ignoreCase: ignoreCase.checked };
      void act(status, () => api.put(`/guardrails/deny-rules/${encodeURIComponent(id.value.trim())}`, { rule }), `Deny rule “${id.value.trim()}” saved.`, reload);
    });
    return form;
  }

  async function reload(): Promise<void> {
    const { document: doc, updatedAt } = await api.get<{ document: GuardrailDocument; updatedAt: string | null }>('/guardrails');
    const overrides = [
      ...Object.entries(doc.connectors).map(([c, p]) => ({ level: 'connector', target: c, policy: p, path: `/guardrails/connectors/${encodeURIComponent(c)}` })),
      ...Object.entries(doc.tools).map(([key, p]) => {
        const [c = '', ...rest] = key.split('/');
        return { level: 'tool', target: key, policy: p, path: `/guardrails/tools/${encodeURIComponent(c)}/${encodeURIComponent(rest.join('/'))}` };
      }),
    ];
    const overrideRows = overrides.map((o) => [
      o.level,
      h('code', { 'data-testid': 'override-target' }, o.target),
      summary(o.policy),
      removeButton(`Remove the override of ${o.target}`, `Remove the guardrail override of “${o.target}”? It then follows the level above.`, () => api.put(o.path, { policy: null }), `Override of “${o.target}” removed.`),
    ]);
    const ruleRows = doc.denyRules.map((r) => [
      h('code', { 'data-testid': 'rule-id' }, r.id),
      h('code', {}, r.tool),
      h('code', {}, r.path),
      h('code', { 'data-testid': 'rule-pattern' }, r.pattern),
      r.ignoreCase ? 'yes' : 'no',
      removeButton(`Remove the deny rule ${r.id}`, `Remove the deny rule “${r.id}”?`, () => api.put(`/guardrails/deny-rules/${encodeURIComponent(r.id)}`, { rule: null }), `Deny rule “${r.id}” removed.`),
    ]);
    const withActions = (headers: string[]) => (editable ? [...headers, 'Actions'] : headers);
    const trim = (rows: unknown[][]) => rows.map((r) => (editable ? r : r.slice(0, -1))) as Parameters<typeof table>[2];
    fill(
      body,
      h('p', { class: 'hint' }, updatedAt === null ? 'Never changed: the gateway’s defaults apply.' : `Last changed ${when(updatedAt)} (${timeZone()}).`),
      orgForm(ownPolicy(doc)),
      h('h2', {}, 'Connector and tool overrides'),
      overrides.length === 0 ? emptyState('No overrides: every connector and tool follows the organisation policy.') : table('Overrides (a tool’s override wins over its connector’s)', withActions(['Level', 'Target', 'Sets']), trim(overrideRows)),
      editable ? overrideForm() : null,
      h('h2', {}, 'Deny rules'),
      doc.denyRules.length === 0 ? emptyState('No deny rules.') : table('Deny rules: a call whose arguments match is refused', withActions(['Id', 'Tools', 'Path', 'Pattern', 'Ignore case']), trim(ruleRows)),
      editable ? ruleForm() : null,
    );
  }

  fill(main, h('h1', {}, 'Guardrails'), h('p', { class: 'lead' }, 'Checks on every call: before it (arguments) and after it (results), for the organisation, one connector or one tool.'), status, body);
  await reload();
}
