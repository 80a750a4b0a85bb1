import { parseArgs } from 'node:util';
import { getTraffic, setApprovalRule, setDenyList, setKeyTier, setOrgLimit, setToolLimit } from '../services/traffic.ts';
import type { TrafficSettings } from '../store/traffic-types.ts';
import type { CliContext } from './context.ts';
import { out, table, UsageError } from './output.ts';

export const TRAFFIC_USAGE = `gatehouse traffic show [--org SLUG] [--json]
gatehouse traffic org-limit LIMIT|off [--org SLUG]
gatehouse traffic tool-limit CONNECTOR/TOOL LIMIT|off [--org SLUG]
gatehouse traffic key-tier KEY_ID TIER|default [--org SLUG]
gatehouse traffic deny --plane mcp|api [CIDR...] [--org SLUG]
gatehouse traffic approval CONNECTOR/TOOL on|off [--org SLUG]
  Rate limits per organisation. LIMIT is <n>/<s|m|h>[,burst=<n>] (100/s, 300/m,burst=50). A key's TIER is unlimited,
  a number of requests per second (5, 10, 100, 1000) or a LIMIT; default: the gateway's rateLimitKey. A tool pattern's
  parts may be * or end in * (github/create_*). deny replaces the plane's deny list (no CIDR: empty); deny beats the
  allowlist. approval on: each call of a matching tool waits for a person's approval. Every change applies to the
  next request.`;

function show(s: TrafficSettings, slug: string, json: boolean): void {
  if (json) {
    out(JSON.stringify({ orgLimit: s.orgLimit, toolLimits: s.toolLimits, keyTiers: s.keyTiers, deny: s.deny, approvals: s.approvals }));
    return;
  }
  table(
    [
      { limit: 'organisation', subject: slug, value: s.orgLimit ?? 'none' },
      ...s.toolLimits.map((l) => ({ limit: 'tool', subject: l.pattern, value: l.limit })),
      ...Object.entries(s.keyTiers).map(([k, t]) => ({ limit: 'key tier', subject: k, value: t })),
      { limit: 'deny mcp', subject: slug, value: s.deny.mcp.join(' ') || 'none' },
      { limit: 'deny api', subject: slug, value: s.deny.api.join(' ') || 'none' },
      ...s.approvals.map((p) => ({ limit: 'approval', subject: p, value: 'required' })),
    ],
    ['limit', 'subject', 'value'],
  );
}

export async function trafficCommand(ctx: CliContext, sub: string, rest: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { org: { type: 'string' }, plane: { type: 'string' }, json: { type: 'boolean' } },
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
    case 'deny': {
      if (values.plane !== 'mcp' && values.plane !== 'api') throw new UsageError('traffic deny needs --plane mcp|api');
      show(await setDenyList(ctx, ctx.actor, org.id, values.plane, positionals), org.slug, json);
      return;
    }
    default:
      throw new UsageError(TRAFFIC_USAGE);
  }
}
