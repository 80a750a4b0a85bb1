import { act, lines, statusSlot } from '../lib/act.ts';
import { api } from '../lib/api.ts';
import { emptyState, field, fill, h, notice, table, timeZone, when } from '../lib/dom.ts';
import { can } from '../lib/session.ts';

interface Issuer {
  readonly id: string;
  readonly issuer: string;
  readonly audience: string;
  readonly algorithms: readonly string[];
  readonly jwksUri: string;
  readonly scopeMap: Readonly<Record<string, readonly string[]>>;
  readonly requiredScopes: readonly string[];
  readonly servers: readonly string[] | null;
  readonly requireAtJwt: boolean;
  readonly createdAt: string;
}

/** `mcp = *` or `tickets.read = jira/list_*, jira/get_issue`, one a line: a token scope and what it grants here. */
export function parseScopeMap(text: string): { map: Record<string, string[]>; bad: string[] } {
  const map: Record<string, string[]> = {};
  const bad: string[] = [];
  for (const line of lines(text)) {
    const at = line.indexOf('=');
    const scope = at < 0 ? '' : line.slice(0, at).trim();
    const grants = at < 0 ? [] : line.slice(at + 1).split(/[\s,]+/).filter((s) => s !== '');
    if (scope === '' || grants.length === 0) bad.push(line);
    else map[scope] = [...(map[scope] ?? []), ...grants];
  }
  return { map, bad };
}

function scopeMapView(m: Issuer['scopeMap']): HTMLElement {
  return h('ul', { class: 'plain' }, ...Object.entries(m).map(([scope, grants]) => h('li', {}, h('code', {}, scope), ' → ', h('code', {}, grants.join(', ')))));
}

function issuerForm(done: (issuer: string) => Promise<void>): HTMLElement {
  const issuer = h('input', { name: 'issuer', type: 'url', required: true, maxlength: 512, autocomplete: 'off', placeholder: 'https://login.example.com/realms/agents' });
  const audience = h('input', { name: 'audience', required: true, maxlength: 512, autocomplete: 'off', value: new URL('/mcp', location.origin).toString() });
  const jwks = h('input', { name: 'jwks-uri', type: 'url', maxlength: 1024, autocomplete: 'off' });
  const scopeMap = h('textarea', { name: 'scope-map', rows: 3, class: 'code', spellcheck: false, required: true, placeholder: 'mcp = *' });
  const required = h('input', { name: 'required-scopes', maxlength: 1024, autocomplete: 'off' });
  const atJwt = h('input', { type: 'checkbox', name: 'require-at-jwt' });
  const status = statusSlot();
  const submit = h('button', { type: 'submit' }, 'Trust issuer');
  const form = h(
    'form',
    { class: 'card', 'aria-label': 'Trust an OAuth issuer' },
    h('h2', {}, 'Trust an OAuth issuer'),
    field('Issuer', issuer, 'https (http only on loopback); an issuer belongs to one organisation'),
    field('Audience', audience, 'The resource its tokens must name: this gateway’s /mcp URL'),
    field('JWKS URI (optional)', jwks, 'Empty: found from the issuer’s metadata'),
    field('Scope map (token scope = Gatehouse scopes, one a line)', scopeMap, 'e.g. mcp = *   or   tickets.read = jira/list_*, jira/get_issue'),
    field('Required token scopes (space-separated, optional)', required),
    field('Require RFC 9068 access tokens (typ at+jwt)', atJwt),
    status,
    h('div', { class: 'actions' }, submit),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const parsed = parseScopeMap(scopeMap.value);
    if (parsed.bad.length > 0) {
      scopeMap.setAttribute('aria-invalid', 'true');
      fill(status, notice('error', `Not in the form “scope = grants”: ${parsed.bad.join(', ')}`));
      return;
    }
    scopeMap.removeAttribute('aria-invalid');
    const body = {
      issuer: issuer.value.trim(),
      audience: audience.value.trim(),
      scopeMap: parsed.map,
      ...(jwks.value.trim() === '' ? {} : { jwksUri: jwks.value.trim() }),
      ...(required.value.trim() === '' ? {} : { requiredScopes: required.value.trim().split(/\s+/) }),
      requireAtJwt: atJwt.checked,
    };
    submit.disabled = true;
    void act(status, () => api.post('/oauth/issuers', body), 'Issuer trusted.', () => done(body.issuer)).finally(() => (submit.disabled = false));
  });
  return form;
}

export async function renderIssuers(main: HTMLElement): Promise<void> {
  const status = statusSlot();
  const list = h('div', {});
  const removable = can('oauth_issuer.delete');

  async function reload(): Promise<void> {
    const { issuers } = await api.get<{ issuers: Issuer[] }>('/oauth/issuers');
    const rows = issuers.map((i) => {
      const cells = [
        h('code', { class: 'wrap', 'data-testid': 'issuer' }, i.issuer),
        h('code', { class: 'wrap' }, i.audience),
        scopeMapView(i.scopeMap),
        i.requiredScopes.length === 0 ? '—' : i.requiredScopes.join(' '),
        i.servers === null ? 'all endpoints' : i.servers.join(', '),
        `${i.algorithms.join(', ')}${i.requireAtJwt ? ' (at+jwt)' : ''}`,
        when(i.createdAt),
      ];
      if (!removable) return cells;
      const remove = h('button', { type: 'button', class: 'danger', 'aria-label': `Remove the issuer ${i.issuer}` }, 'Remove');
      remove.addEventListener('click', () => {
        if (!confirm(`Stop trusting ${i.issuer}? Its tokens are refused from the next request.`)) return;
        void act(status, () => api.del(`/oauth/issuers/${encodeURIComponent(i.id)}`), `${i.issuer} is no longer trusted.`, reload);
      });
      return [...cells, remove];
    });
    const headers = ['Issuer', 'Audience', 'Scope map', 'Required scopes', 'Endpoints', 'Algorithms', 'Added'];
    fill(list, issuers.length === 0 ? emptyState('No OAuth issuers: agents sign in with API keys only.') : table(`Trusted issuers (times in ${timeZone()})`, removable ? [...headers, 'Actions'] : headers, rows));
  }

  fill(
    main,
    h('h1', {}, 'OAuth issuers'),
    h('p', { class: 'lead' }, 'Identity providers whose access tokens (JWTs) agents may present instead of an API key; the scope map decides what each token may call.'),
    status,
    list,
    can('oauth_issuer.create')
      ? issuerForm(async (issuer) => {
          await reload();
          main.querySelector('form')?.reset();
          fill(status, notice('ok', `${issuer} is trusted.`));
        })
      : null,
  );
  await reload();
}
