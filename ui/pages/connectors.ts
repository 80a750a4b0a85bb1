import { api, describe } from '../lib/api.ts';
import { listConnectors, listPins, type ConnectorView, type PinView } from '../lib/catalog.ts';
import { emptyState, field, fill, h, notice, table, timeZone, when } from '../lib/dom.ts';
import { can, session } from '../lib/session.ts';

interface PinDetail extends PinView {
  readonly diff: string | null;
}

interface HeaderRow {
  readonly row: HTMLElement;
  read(): { name: string; value: string; secret: boolean } | undefined;
}

/** One header: a secret value is write-only, so an existing one shows as set and is never put back in a field. */
function headerRow(remove: (r: HeaderRow) => void, existing?: { name: string; secret: boolean; value?: string }): HeaderRow {
  const name = h('input', { name: 'header-name', maxlength: 128, autocomplete: 'off', value: existing?.name ?? '' });
  const value = h('input', {
    name: 'header-value',
    maxlength: 8192,
    autocomplete: 'off',
    type: existing?.secret === true ? 'password' : 'text',
    value: existing?.secret === true ? '' : (existing?.value ?? ''),
    placeholder: existing?.secret === true ? 'set — type it again to keep it' : '',
  });
  const secret = h('input', { type: 'checkbox', name: 'header-secret', checked: existing?.secret ?? false });
  secret.addEventListener('change', () => (value.type = secret.checked ? 'password' : 'text'));
  const drop = h('button', { type: 'button', class: 'secondary' }, 'Remove header');
  const row = h('fieldset', { class: 'header-row' }, h('legend', {}, 'Header'), field('Name', name), field('Value', value), field('Secret (write-only)', secret), drop);
  const self: HeaderRow = {
    row,
    read: () => (name.value.trim() === '' ? undefined : { name: name.value.trim(), value: value.value, secret: secret.checked }),
  };
  drop.addEventListener('click', () => { remove(self); });
  return self;
}

function connectorForm(existing: ConnectorView | undefined, done: () => Promise<void>, cancel: () => void): HTMLElement {
  const name = h('input', { name: 'name', required: true, maxlength: 32, autocomplete: 'off', value: existing?.name ?? '' });
  const url = h('input', { name: 'url', type: 'url', required: true, maxlength: 2048, value: existing?.url ?? '', placeholder: 'https://mcp.example.com/mcp' });
  const rows: HeaderRow[] = [];
  const rowsEl = h('div', {});
  const remove = (r: HeaderRow) => {
    rows.splice(rows.indexOf(r), 1);
    r.row.remove();
  };
  const add = (x?: { name: string; secret: boolean; value?: string }) => {
    const r = headerRow(remove, x);
    rows.push(r);
    rowsEl.append(r.row);
  };
  for (const x of existing?.headers ?? []) add(x);
  const addButton = h('button', { type: 'button', class: 'secondary' }, 'Add header');
  addButton.addEventListener('click', () => { add(); });
  const status = h('div', { class: 'status' });
  const submit = h('button', { type: 'submit' }, existing === undefined ? 'Add connector' : 'Save changes');
  const cancelButton = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
  cancelButton.addEventListener('click', cancel);
  const title = existing === undefined ? 'Add a connector' : `Edit ${existing.name}`;
  const form = h(
    'form',
    { class: 'card', 'aria-label': title },
    h('h2', {}, title),
    field('Name', name, 'Tools appear to agents as name__tool'),
    field('URL of the upstream MCP server', url),
    h('h3', {}, 'Headers'),
    h('p', { class: 'hint' }, existing === undefined ? 'Credentials the gateway sends upstream. Mark them secret: they are encrypted and never shown again.' : 'Saving replaces every header: secret values must be typed again.'),
    rowsEl,
    addButton,
    status,
    h('div', { class: 'actions' }, submit, cancelButton),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const headers = rows.map((r) => r.read()).filter((x) => x !== undefined);
    const missing = headers.find((x) => x.secret && x.value === '');
    if (missing !== undefined) {
      fill(status, notice('error', `Type the value of the secret header “${missing.name}” again, or remove it.`));
      return;
    }
    submit.disabled = true;
    const call =
      existing === undefined
        ? api.post('/connectors', { type: 'http', name: name.value, url: url.value, headers })
        : api.patch(`/connectors/${encodeURIComponent(existing.id)}`, { name: name.value, url: url.value, headers });
    call
      .then(done)
      .catch((err: unknown) => { fill(status, notice('error', describe(err))); })
      .finally(() => (submit.disabled = false));
  });
  return form;
}

function shownValues(c: ConnectorView): HTMLElement {
  const values = c.headers ?? c.env ?? [];
  if (values.length === 0) return h('span', { class: 'hint' }, 'none');
  return h('ul', { class: 'plain' }, ...values.map((v) => h('li', {}, h('code', {}, v.name), ': ', v.secret ? h('span', { class: 'badge set' }, 'secret set') : (v.value ?? ''))));
}

/** The connection and the circuit breaker as this replica sees them: words first, colour only as a help. */
function healthView(c: ConnectorView): HTMLElement {
  const hl = c.health;
  if (hl === undefined) return h('span', { class: 'hint', 'data-testid': 'connector-health' }, 'not connected yet');
  const good = hl.connection === 'ready' && hl.breaker === 'closed';
  const circuit = hl.breaker === 'closed' ? 'circuit closed' : hl.breaker === 'open' ? `circuit open${hl.retryAt === null ? '' : `, next probe ${when(hl.retryAt)}`}` : 'circuit half-open (probing)';
  return h(
    'div',
    { 'data-testid': 'connector-health' },
    h('span', { class: `badge ${good ? 'active' : hl.breaker === 'open' || hl.connection === 'down' ? 'error' : 'pending'}` }, hl.connection),
    ' ',
    circuit,
    h('br', {}),
    h('small', { class: 'hint' }, `${String(hl.inFlight)} in flight · ${String(hl.recentFailures)} failure(s) in the last minute`, hl.lastError === null ? '' : ` · last error ${hl.lastError.code} at ${when(hl.lastError.at)}`),
  );
}

/** The approved definition (-) against the pending one (+), line by line, each line as text. */
function diffView(diff: string | null): HTMLElement {
  if (diff === null) return emptyState('No earlier definition: this tool is new.');
  const lines = diff.split('\n').map((line) => {
    const kind = line.startsWith('+') ? 'add' : line.startsWith('-') ? 'del' : 'same';
    return h('span', { class: `diff-${kind}` }, line, '\n');
  });
  return h('pre', { class: 'diff', tabindex: 0, 'aria-label': 'Changes: removed lines start with -, added lines with +' }, ...lines);
}

async function review(slot: HTMLElement, pin: PinView, done: () => Promise<void>): Promise<void> {
  const d = await api.get<PinDetail>(`/tools/pins/${encodeURIComponent(pin.connector)}/${encodeURIComponent(pin.tool)}`);
  const status = h('div', { class: 'status' });
  const actions = h('div', { class: 'actions' });
  if (can('tool_pin.review') && d.status === 'pending') {
    const approve = h('button', { type: 'button' }, 'Approve');
    const reject = h('button', { type: 'button', class: 'danger' }, 'Reject');
    const decide = (verb: 'approve' | 'reject') => {
      const body = verb === 'approve' && d.pendingFingerprint !== null ? { fingerprint: d.pendingFingerprint } : {};
      api
        .post(`/tools/pins/${encodeURIComponent(d.connector)}/${encodeURIComponent(d.tool)}/${verb}`, body)
        .then(done)
        .catch((err: unknown) => { fill(status, notice('error', describe(err))); });
    };
    approve.addEventListener('click', () => { decide('approve'); });
    reject.addEventListener('click', () => { decide('reject'); });
    actions.append(approve, reject);
  }
  const close = h('button', { type: 'button', class: 'secondary' }, 'Close');
  close.addEventListener('click', () => { slot.replaceChildren(); });
  actions.append(close);
  fill(
    slot,
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'review-title', 'data-testid': 'pin-review' },
      h('h2', { id: 'review-title' }, 'Review ', h('code', {}, `${d.connector}/${d.tool}`)),
      h('p', {}, `Status: ${d.status}${d.change === null ? '' : ` (${d.change})`}`),
      d.findings.length === 0
        ? h('p', {}, 'No suspicious patterns found.')
        : h('div', {}, h('h3', {}, 'Findings'), h('ul', {}, ...d.findings.map((f) => h('li', {}, `${f.rule} in ${f.place}`)))),
      h('h3', {}, 'Definition changes'),
      diffView(d.diff),
      status,
      actions,
    ),
  );
  close.focus();
}

interface Connection {
  readonly connected: boolean;
  readonly scope: string | null;
  readonly expiresAt: string | null;
}

/**
 * A per-user OAuth connector: the signed-in person's own account at its upstream. Connecting is a navigation to
 * the gateway's connect route (it redirects to the authorization server and comes back here); disconnecting
 * revokes and deletes the person's tokens. The tokens themselves never reach the page.
 */
function accountCell(c: ConnectorView, status: HTMLElement, reload: () => Promise<void>): HTMLElement {
  const cell = h('div', { 'data-testid': 'oauth-account' }, h('span', { class: 'hint' }, 'checking your account…'));
  const path = `/connectors/${encodeURIComponent(c.id)}/oauth`;
  api
    .get<Connection>(`${path}/connection`)
    .then((conn) => {
      if (!conn.connected) {
        fill(cell, h('a', { class: 'button secondary', href: `/api/v1${path}/connect`, 'aria-label': `Connect your account at ${c.name}` }, 'Connect your account'));
        return;
      }
      const disconnect = h('button', { type: 'button', class: 'secondary', 'aria-label': `Disconnect your account at ${c.name}` }, 'Disconnect');
      disconnect.addEventListener('click', () => {
        api
          .del<{ removed: boolean; revoked: boolean }>(`${path}/connection`)
          .then(async (r) => {
            await reload();
            fill(status, notice('ok', r.revoked ? `Your account at “${c.name}” is disconnected; its tokens were revoked.` : `Your account at “${c.name}” is disconnected; its tokens are deleted here.`));
          })
          .catch((err: unknown) => { fill(status, notice('error', describe(err))); });
      });
      fill(cell, h('span', { class: 'badge active' }, 'connected'), conn.expiresAt === null ? null : h('small', { class: 'hint' }, ` token until ${when(conn.expiresAt)}, refreshed before`), ' ', disconnect);
    })
    .catch((err: unknown) => { fill(cell, h('span', { class: 'hint' }, describe(err))); });
  return cell;
}

export async function renderConnectors(main: HTMLElement): Promise<void> {
  const status = h('div', { class: 'status' });
  const formSlot = h('div', {});
  const list = h('div', {});
  const reviewSlot = h('div', {});
  const tools = h('div', {});

  async function reload(): Promise<void> {
    const [connectors, pins] = await Promise.all([listConnectors(), listPins()]);
    const rows = connectors.map((c) => {
      const actions = h('div', { class: 'row-actions' });
      if (can('connector.update') && c.type === 'http') {
        const edit = h('button', { type: 'button', class: 'secondary', 'aria-label': `Edit ${c.name}` }, 'Edit');
        edit.addEventListener('click', () => {
          fill(formSlot, connectorForm(c, async () => {
            formSlot.replaceChildren();
            fill(status, notice('ok', `Connector “${c.name}” saved.`));
            await reload();
          }, () => { formSlot.replaceChildren(); }));
          formSlot.querySelector('input')?.focus();
        });
        actions.append(edit);
      }
      if (can('connector.delete')) {
        const remove = h('button', { type: 'button', class: 'danger', 'aria-label': `Remove ${c.name}` }, 'Remove');
        remove.addEventListener('click', () => {
          if (!confirm(`Remove the connector “${c.name}”? Its tools disappear from every agent.`)) return;
          api
            .del(`/connectors/${encodeURIComponent(c.id)}`)
            .then(async () => {
              fill(status, notice('ok', `Connector “${c.name}” removed.`));
              await reload();
            })
            .catch((err: unknown) => { fill(status, notice('error', describe(err))); });
        });
        actions.append(remove);
      }
      // A stdio connector runs a command on the gateway host: the operator's, through the CLI; here it is read-only.
      const type = c.type === 'stdio' ? h('span', { 'data-testid': 'connector-type' }, 'stdio', h('br', {}), h('small', { class: 'hint' }, 'a command on the gateway host, managed with the CLI')) : h('span', { 'data-testid': 'connector-type' }, c.type);
      const where = c.type === 'stdio' ? h('code', {}, [c.command ?? '', ...(c.args ?? [])].join(' ')) : (c.url ?? '');
      if (c.oauth?.mode === 'user' && can('connector.oauth_connect') && session()?.userId !== undefined) actions.append(accountCell(c, status, reload));
      return [c.name, type, where, shownValues(c), healthView(c), when(c.createdAt), actions];
    });
    fill(list, connectors.length === 0 ? emptyState('No connectors yet.' + (can('connector.create') ? ' Add an upstream MCP server below.' : '')) : table(`Connectors (times in ${timeZone()})`, ['Name', 'Type', 'Where', 'Headers / environment', 'Health', 'Added', 'Actions'], rows));
    if (!can('tool_pin.read')) {
      tools.replaceChildren();
      return;
    }
    const pending = pins.filter((p) => p.status === 'pending');
    const toolRows = pins.map((p) => {
      const verb = p.status === 'pending' ? 'Review' : 'Details';
      const open = h('button', { type: 'button', class: p.status === 'pending' ? '' : 'secondary', 'aria-label': `${verb} ${p.connector}/${p.tool}` }, verb);
      open.addEventListener('click', () => {
        review(reviewSlot, p, async () => {
          reviewSlot.replaceChildren();
          fill(status, notice('ok', `Decision on “${p.connector}/${p.tool}” saved.`));
          await reload();
        }).catch((err: unknown) => { fill(status, notice('error', describe(err))); });
      });
      return [p.connector, h('code', { 'data-testid': 'tool-name' }, p.tool), h('span', { class: `badge ${p.status}` }, p.status), p.classification ?? '—', p.findings.length === 0 ? '—' : String(p.findings.length), when(p.updatedAt), open];
    });
    fill(
      tools,
      h('h2', {}, 'Tools'),
      h('p', { class: 'lead' }, pending.length === 0 ? 'No tool definitions await review.' : `${String(pending.length)} tool definition(s) await review: agents cannot see or call them until approved.`),
      pins.length === 0 ? emptyState('No tools yet: they appear when the gateway first lists a connector’s tools.') : table('Tools and their pinned definitions', ['Connector', 'Tool', 'Status', 'Class', 'Findings', 'Updated', 'Review'], toolRows),
    );
  }

  const addButton = can('connector.create') ? h('button', { type: 'button' }, 'Add connector') : null;
  addButton?.addEventListener('click', () => {
    fill(formSlot, connectorForm(undefined, async () => {
      formSlot.replaceChildren();
      fill(status, notice('ok', 'Connector added. Its tools appear below once the gateway has listed them.'));
      await reload();
    }, () => { formSlot.replaceChildren(); }));
    formSlot.querySelector('input')?.focus();
  });
  fill(main, h('h1', {}, 'Connectors'), h('p', { class: 'lead' }, 'The upstream MCP servers agents reach through the gateway.'), status, addButton, formSlot, list, reviewSlot, tools);
  // Back from an upstream's authorization server (the gateway's callback sends the browser here).
  const connected = new URLSearchParams(location.hash.split('?')[1] ?? '').get('connected');
  if (connected !== null) {
    fill(status, notice('ok', `Your account at “${connected}” is connected: your agents’ calls to it now carry your own access.`));
    history.replaceState(null, '', '/ui/#/connectors');
  }
  await reload();
}
