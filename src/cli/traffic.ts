import { parseArgs } from 'node:util';
import { getTraffic, setAddressLimit, setApprovalRule, setDenyList, setKeyTier, setOrgLimit, setQuota, setToolLimit } from '../services/traffic.ts';
import { QUOTA_KINDS, type QuotaKind, type TrafficSettings } from '../store/traffic-types.ts';
import type { CliContext } from './context.ts';
import { out, table, UsageError } from './output.ts';

export const TRAFFIC_USAGE = `gatehouse traffic show [--org SLUG] [--json]
gatehouse traffic org-limit LIMIT|off [--org SLUG]
gatehouse traffic address-limit LIMIT|off [--org SLUG]
gatehouse traffic tool-limit CONNECTOR/TOOL LIMIT|off [--org SLUG]
gatehouse traffic key-tier KEY_ID TIER|default [--org SLUG]
gatehouse traffic deny --plane mcp|api [CIDR...] [--org SLUG]
gatehouse traffic approval CONNECTOR/TOOL on|off [--org SLUG]
gatehouse traffic quota KIND [--per-key N|default] [--per-org N|default] [--org SLUG]
  Rate limits per organisation (address-limit: per client address over all its keys). LIMIT is <n>/<s|m|h>[,burst=<n>] (100/s, 300/m,burst=50). A key's TIER is unlimited,
  a number of requests per second (5, 10, 100, 1000) or a LIMIT; default: the gateway's rateLimitKey. A tool pattern's
  parts may be * or end in * (github/create_*). deny replaces the plane's deny list (no CIDR: empty); deny beats the
  allowlist. approval on: each call of a matching tool waits for a person's approval. quota sets the organisation's
  own ceiling of what a key (--per-key) or all its keys (--per-org) may hold open, KIND one of session, stream,
  upstream, process; the gateway's ceilings stay the most. Every change applies to the next request.`;

function show(s: TrafficSettings, slug: string, json: boolean): void {
  if (json) {
    out(JSON.stringify({ orgLimit: s.orgLimit, addressLimit: s.addressLimit, toolLimits: s.toolLimits, keyTiers: s.keyTiers, deny: s.deny, approvals: s.approvals, quotas: s.quotas }));
    return;
  }
  table(
    [
      { limit: 'organisation', subject: slug, value: s.orgLimit ?? 'none' },
      { limit: 'per address', subject: slug, value: s.addressLimit ?? 'none' },
      ...s.toolLimits.map((l) => ({ limit: 'tool', subject: l.pattern, value: l.limit })),
      ...Object.entries(s.keyTiers).map(([k, t]) => ({ limit: 'key tier', subject: k, value: t })),
      { limit: 'deny mcp', subject: slug, value: s.deny.mcp.join(' ') || 'none' },
      { limit: 'deny api', subject: slug, value: s.deny.api.join(' ') || 'none' },
      ...s.approvals.map((p) => ({ limit: 'approval', subject: p, value: 'required' })),
      ...Object.entries(s.quotas.perKey).map(([k, n]) => ({ limit: 'quota per key', subject: k, value: String(n) })),
      ...Object.entries(s.quotas.perOrg).map(([k, n]) => ({ limit: 'quota per org', subject: k, value: String(n) })),
    ],
    ['limit', 'subject', 'value'],
  );
}

export async function trafficCommand(ctx: CliContext, sub: string, rest: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { org: { type: 'string' }, plane: { type: 'string' }, 'per-key': { type: 'string' }, 'per-org': { type: 'string' }, json: { type: 'boolean' } },
  });
  const org = await ctx.org(values.org);
  const json = values.json === true;
  const [a, b] = positionals;
  switch (sub) {
    case 'show':
      if (positionals.length > 0) throw new UsageError(TRAFFIC_USAGE);
      show(await getTraffic(ctx, ctx.actor, org.id), org.slug, json);
      return;
    case 'org-limit':
      if (a === undefined || positionals.length !== 1) throw new UsageError('traffic org-limit needs LIMIT or off');
      show(await setOrgLimit(ctx, ctx.actor, org.id, a === 'off' ? null : a), org.slug, json);
      return;
    case 'address-limit':
      if (a === undefined || positionals.length !== 1) throw new UsageError('traffic address-limit needs LIMIT or off');
      show(await setAddressLimit(ctx, ctx.actor, org.id, a === 'off' ? null : a), org.slug, json);
      return;
    case 'tool-limit':
      if (a === undefined || b === undefined || positionals.length !== 2) throw new UsageError('traffic tool-limit needs CONNECTOR/TOOL and LIMIT or off');
      show(await setToolLimit(ctx, ctx.actor, org.id, a, b === 'off' ? null : b), org.slug, json);
      return;
    case 'key-tier':
      if (a === undefined || b === undefined || positionals.length !== 2) throw new UsageError('traffic key-tier needs KEY_ID and TIER or default');
      show(await setKeyTier(ctx, ctx.actor, org.id, a, b === 'default' ? null : b), org.slug, json);
      return;
    case 'approval':
      if (a === undefined || (b !== 'on' && b !== 'off') || positionals.length !== 2) throw new UsageError('traffic approval needs CONNECTOR/TOOL and on or off');
      show(await setApprovalRule(ctx, ctx.actor, org.id, a, b === 'on'), org.slug, json);
      return;
    case 'quota': {
      if (a === undefined || !QUOTA_KINDS.includes(a as QuotaKind) || positionals.length !== 1) throw new UsageError(`traffic quota needs one of ${QUOTA_KINDS.join(', ')}`);
      const perKey = values['per-key'];
      const perOrg = values['per-org'];
      if (perKey === undefined && perOrg === undefined) throw new UsageError('traffic quota needs --per-key and/or --per-org (N or default)');
      const parse = (v: string): number | null => {
        if (v === 'default') return null;
        if (!/^\d+$/.test(v)) throw new UsageError('a quota is a whole number or default');
        return Number(v);
      };
      let s: TrafficSettings | undefined;
      if (perKey !== undefined) s = await setQuota(ctx, ctx.actor, org.id, a as QuotaKind, 'key', parse(perKey));
      if (perOrg !== undefined) s = await setQuota(ctx, ctx.actor, org.id, a as QuotaKind, 'organisation', parse(perOrg));
      show(s as TrafficSettings, org.slug, json);
      return;
    }
    case 'deny': {
      if (values.plane !== 'mcp' && values.plane !== 'api') throw new UsageError('traffic deny needs --plane mcp|api');
      show(await setDenyList(ctx, ctx.actor, org.id, values.plane, positionals), org.slug, json);
      return;
    }
    default:
      throw new UsageError(TRAFFIC_USAGE);
  }
}
