import { normalizeCidr } from '../cidr.ts';
import { GatehouseError } from '../errors.ts';
import { formatLimit, parseLimit, parseTier } from '../limit-spec.ts';
import { emptyTrafficSettings, QUOTA_KINDS, type QuotaKind, type ToolLimit, type TrafficSettings } from '../store/traffic-types.ts';
import type { NetworkPlane } from '../store/types.ts';
import { authorize, changeEvent, requireSameOrg, type Actor, type ServiceContext } from './context.ts';

/**
 * An organisation's traffic settings: its total limit, limits per tool (`connector/tool` patterns), the tiers of its
 * keys (`unlimited`, a number of requests per second, or a limit such as `600/m,burst=50`), and its deny lists per
 * plane. Every change applies to the next request (the settings bump the access revision) and is audited.
 */
const NO_SUCH_ORG = 'No such organisation';
const TOOL_PATTERN = /^[a-z0-9*][a-z0-9_.*-]{0,63}\/[A-Za-z0-9_.*-]{1,128}$/;
const MAX_TOOL_LIMITS = 100;
const MAX_DENY = 256;

export async function getTraffic(ctx: Pick<ServiceContext, 'store'>, actor: Actor, orgId: string): Promise<TrafficSettings> {
  authorize(actor, 'traffic.read');
  requireSameOrg(actor, orgId, NO_SUCH_ORG);
  return (await ctx.store.trafficSettings.getTrafficSettings(orgId)) ?? emptyTrafficSettings(orgId);
}

async function change(
  ctx: ServiceContext,
  actor: Actor,
  orgId: string,
  action: string,
  name: string,
  edit: (s: TrafficSettings) => TrafficSettings,
  args: Record<string, unknown>,
): Promise<TrafficSettings> {
  authorize(actor, 'traffic.update');
  requireSameOrg(actor, orgId, NO_SUCH_ORG);
  const current = (await ctx.store.trafficSettings.getTrafficSettings(orgId)) ?? emptyTrafficSettings(orgId);
  const next = { ...edit(current), updatedAt: new Date().toISOString() };
  await ctx.store.trafficSettings.setTrafficSettings(next);
  await ctx.audit.record(changeEvent(orgId, actor, action, { name }, args));
  return next;
}

function requireLimit(text: string): string {
  const spec = parseLimit(text);
  if (spec === undefined) throw new GatehouseError('bad_request', 'A limit is <n>/<s|m|h>[,burst=<n>], e.g. 100/s or 300/m,burst=50');
  return formatLimit(spec);
}

/** The organisation's total limit over all its keys; null lifts it. */
export function setOrgLimit(ctx: ServiceContext, actor: Actor, orgId: string, limit: string | null): Promise<TrafficSettings> {
  const value = limit === null ? null : requireLimit(limit);
  return change(ctx, actor, orgId, 'traffic.org_limit', 'organisation', (s) => ({ ...s, orgLimit: value }), { limit: value });
}

/** The organisation's own limit per client address over all its keys (below or beside the gateway's); null lifts it. */
export function setAddressLimit(ctx: ServiceContext, actor: Actor, orgId: string, limit: string | null): Promise<TrafficSettings> {
  const value = limit === null ? null : requireLimit(limit);
  return change(ctx, actor, orgId, 'traffic.address_limit', 'address', (s) => ({ ...s, addressLimit: value }), { limit: value });
}

/** Sets (or with null removes) the limit of the tools a pattern matches, shared by all the organisation's keys. */
export function setToolLimit(ctx: ServiceContext, actor: Actor, orgId: string, pattern: string, limit: string | null): Promise<TrafficSettings> {
  if (!TOOL_PATTERN.test(pattern)) throw new GatehouseError('bad_request', 'A tool pattern is connector/tool, either part may be * or end in * (github/create_*)');
  const value = limit === null ? null : requireLimit(limit);
  return change(
    ctx,
    actor,
    orgId,
    'traffic.tool_limit',
    pattern,
    (s) => {
      const others = s.toolLimits.filter((l) => l.pattern !== pattern);
      const tools: ToolLimit[] = value === null ? others : [...others, { pattern, limit: value }];
      if (tools.length > MAX_TOOL_LIMITS) throw new GatehouseError('bad_request', `At most ${String(MAX_TOOL_LIMITS)} tool limits`);
      return { ...s, toolLimits: tools };
    },
    { limit: value },
  );
}

/** Assigns a key its tier (null: the gateway's default for keys). The key must be one of the organisation's. */
export async function setKeyTier(ctx: ServiceContext, actor: Actor, orgId: string, keyId: string, tier: string | null): Promise<TrafficSettings> {
  authorize(actor, 'traffic.update');
  requireSameOrg(actor, orgId, NO_SUCH_ORG);
  if ((await ctx.store.getApiKey(orgId, keyId)) === undefined) throw new GatehouseError('not_found', 'No such key');
  let value: string | null = null;
  if (tier !== null) {
    const t = parseTier(tier);
    if (t === undefined) throw new GatehouseError('bad_request', 'A tier is unlimited, a number of requests per second (5, 100), or a limit (600/m,burst=50)');
    value = t === 'unlimited' ? 'unlimited' : formatLimit(t);
  }
  return change(
    ctx,
    actor,
    orgId,
    'traffic.key_tier',
    keyId,
    (s) => {
      const { [keyId]: _old, ...rest } = s.keyTiers;
      return { ...s, keyTiers: value === null ? rest : { ...rest, [keyId]: value } };
    },
    { tier: value },
  );
}

/** Marks (or with `required` false unmarks) the tools a pattern matches as needing a person's approval per call. */
export function setApprovalRule(ctx: ServiceContext, actor: Actor, orgId: string, pattern: string, required: boolean): Promise<TrafficSettings> {
  if (!TOOL_PATTERN.test(pattern)) throw new GatehouseError('bad_request', 'A tool pattern is connector/tool, either part may be * or end in * (github/create_*)');
  return change(
    ctx,
    actor,
    orgId,
    'traffic.approval_rule',
    pattern,
    (s) => {
      const others = s.approvals.filter((p) => p !== pattern);
      const approvals = required ? [...others, pattern] : others;
      if (approvals.length > MAX_TOOL_LIMITS) throw new GatehouseError('bad_request', `At most ${String(MAX_TOOL_LIMITS)} approval rules`);
      return { ...s, approvals };
    },
    { required },
  );
}

/** The largest ceiling an organisation may write; the gateway's own ceilings (config) stay the most it gets. */
const MAX_QUOTA = 100_000;

/**
 * Sets (or with null removes) the organisation's own ceiling for what a key (`key`) or the whole organisation
 * (`organisation`) may hold open of one kind. It can only lower the gateway's: the lower of the two holds.
 */
export function setQuota(ctx: ServiceContext, actor: Actor, orgId: string, kind: QuotaKind, scope: 'key' | 'organisation', value: number | null): Promise<TrafficSettings> {
  if (!QUOTA_KINDS.includes(kind)) throw new GatehouseError('bad_request', `A quota is one of ${QUOTA_KINDS.join(', ')}`);
  if (value !== null && (!Number.isInteger(value) || value < 0 || value > MAX_QUOTA)) {
    throw new GatehouseError('bad_request', `A quota is a whole number from 0 to ${String(MAX_QUOTA)}`);
  }
  const side = scope === 'key' ? 'perKey' : 'perOrg';
  return change(
    ctx,
    actor,
    orgId,
    'traffic.quota',
    `${kind}.${scope}`,
    (s) => {
      const { [kind]: _old, ...rest } = s.quotas[side];
      return { ...s, quotas: { ...s.quotas, [side]: value === null ? rest : { ...rest, [kind]: value } } };
    },
    { kind, scope, value },
  );
}

/** Replaces the plane's deny list (an empty list refuses no one). Deny beats the allowlist. */
export function setDenyList(ctx: ServiceContext, actor: Actor, orgId: string, plane: NetworkPlane, cidrs: readonly string[]): Promise<TrafficSettings> {
  if (cidrs.length > MAX_DENY) throw new GatehouseError('bad_request', `At most ${String(MAX_DENY)} ranges`);
  const normal = cidrs.map((c) => {
    const n = normalizeCidr(c);
    if (n === undefined) throw new GatehouseError('bad_request', 'Each entry must be an IPv4 or IPv6 address or CIDR');
    return n;
  });
  const list = [...new Set(normal)];
  authorize(actor, 'network.update');
  return change(ctx, actor, orgId, 'network.deny', plane, (s) => ({ ...s, deny: { ...s.deny, [plane]: list } }), { cidrs: list });
}
