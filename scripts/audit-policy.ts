/**
 * What `npm run security` makes of `npm audit --json`: every advisory of high or critical severity in the installed
 * tree fails the check unless the reviewed allowlist (.ci/audit-allowlist.json) accepts it, with a reason and an
 * expiry. An answer that is not an audit report (the endpoint unreachable, refused, or answering an error) is not a
 * pass: it is `unavailable`, and the check fails unless the operator explicitly accepts running without it.
 */

export interface AllowEntry {
  /** The advisory's GHSA id (as in its URL, https://github.com/advisories/GHSA-...). */
  readonly advisory: string;
  readonly package: string;
  readonly reason: string;
  /** YYYY-MM-DD: after this day the entry no longer accepts the advisory; it must be reviewed again. */
  readonly expires: string;
}

export interface Advisory {
  readonly advisory: string;
  readonly package: string;
  readonly severity: string;
  readonly title: string;
}

export type AuditOutcome =
  | { readonly kind: 'unavailable'; readonly why: string }
  | {
      readonly kind: 'report';
      /** High or critical, not accepted: each fails the check. */
      readonly failing: readonly Advisory[];
      readonly accepted: readonly Advisory[];
      /** Allowlist entries that matched nothing (fixed upstream, or the package left the tree): remove them. */
      readonly stale: readonly AllowEntry[];
      /** Allowlist entries past their expiry date: they accept nothing, and they fail the check. */
      readonly expired: readonly AllowEntry[];
      readonly total: number;
    };

const FAILING = new Set(['high', 'critical']);

export function parseAllowlist(text: string): AllowEntry[] {
  const doc = JSON.parse(text) as { entries?: unknown };
  if (!Array.isArray(doc.entries)) throw new Error('the allowlist must be a JSON object with an "entries" array');
  return doc.entries.map((e: unknown, i) => {
    const o = e as Partial<Record<keyof AllowEntry, unknown>>;
    for (const k of ['advisory', 'package', 'reason', 'expires'] as const) {
      if (typeof o[k] !== 'string' || o[k] === '') throw new Error(`allowlist entry ${i}: "${k}" is required`);
    }
    if (!/^GHSA-[2-9cfghjmpqrvwx]{4}-[2-9cfghjmpqrvwx]{4}-[2-9cfghjmpqrvwx]{4}$/.test(String(o.advisory))) throw new Error(`allowlist entry ${i}: "advisory" must be a GHSA id`);
    if (!/^\d{4}-\d{2}-\d{2}$/.test(String(o.expires)) || Number.isNaN(Date.parse(String(o.expires)))) throw new Error(`allowlist entry ${i}: "expires" must be YYYY-MM-DD`);
    return o as AllowEntry;
  });
}

/** The advisories of an `npm audit --json` report (npm 7 and later), or why the answer is not a report. */
export function evaluateAudit(report: unknown, allowlist: readonly AllowEntry[], today: string): AuditOutcome {
  if (typeof report !== 'object' || report === null) return { kind: 'unavailable', why: 'npm audit printed no JSON report' };
  const r = report as { error?: unknown; message?: unknown; statusCode?: unknown; vulnerabilities?: unknown; metadata?: unknown };
  if (r.error !== undefined || typeof r.vulnerabilities !== 'object' || r.vulnerabilities === null || typeof r.metadata !== 'object') {
    const detail = typeof r.message === 'string' ? r.message : typeof r.statusCode === 'number' ? `HTTP ${r.statusCode}` : 'no report';
    return { kind: 'unavailable', why: `the audit endpoint gave no report (${detail.slice(0, 200)})` };
  }
  const found = new Map<string, Advisory>();
  for (const [name, v] of Object.entries(r.vulnerabilities as Record<string, { via?: unknown }>)) {
    for (const via of Array.isArray(v.via) ? (v.via as unknown[]) : []) {
      if (typeof via !== 'object' || via === null) continue; // a string names the dependency it comes through
      const a = via as { url?: unknown; severity?: unknown; title?: unknown; name?: unknown };
      const severity = typeof a.severity === 'string' ? a.severity : 'unknown';
      if (!FAILING.has(severity)) continue;
      const ghsa = typeof a.url === 'string' ? (/GHSA-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}/.exec(a.url)?.[0] ?? a.url) : 'unknown';
      const pkg = typeof a.name === 'string' ? a.name : name;
      found.set(`${ghsa} ${pkg}`, { advisory: ghsa, package: pkg, severity, title: typeof a.title === 'string' ? a.title : '' });
    }
  }
  const live = allowlist.filter((e) => e.expires >= today);
  const expired = allowlist.filter((e) => e.expires < today);
  const failing: Advisory[] = [];
  const accepted: Advisory[] = [];
  const used = new Set<AllowEntry>();
  for (const a of found.values()) {
    const entry = live.find((e) => e.advisory === a.advisory && e.package === a.package);
    if (entry === undefined) failing.push(a);
    else {
      used.add(entry);
      accepted.push(a);
    }
  }
  return { kind: 'report', failing, accepted, stale: live.filter((e) => !used.has(e)), expired, total: found.size };
}
