import type { GatehouseError } from '../../errors.ts';
import { noteDetail, type Call } from '../call.ts';
import type { TrafficLimits } from './limits.ts';
import type { OrgLimits } from './org-limits.ts';
import type { RefusalAudit } from './refusal-audit.ts';

export interface LimitStageDeps {
  readonly limits: Pick<TrafficLimits, 'key' | 'take'>;
  readonly orgLimits: OrgLimits;
  readonly refusals: Pick<RefusalAudit, 'refused'>;
  readonly now: () => number;
}

/**
 * Stage `limit`: once the principal and the target are known - the key's tier (or the gateway's default for keys),
 * the organisation's total, its own limit per client address, and its limits for the tool called. Costs one cached settings lookup
 * and one limiter take per limit that applies; nothing when none does. The first refusal per limit and subject in
 * a window is recorded; the rest are counted into one record (refusal-audit.ts).
 */
export function createLimitStage(deps: LimitStageDeps) {
  function refuse(call: Call, refused: GatehouseError, subject: string, orgId: string): GatehouseError {
    const name = String(refused.data?.reason);
    noteDetail(call, 'limit', { name });
    const facts = { orgId, actor: call.audit.actor, clientIp: call.clientIp, action: call.audit.action };
    if (!deps.refusals.refused(name, subject, facts, deps.now())) call.audit.suppressed = true;
    return refused;
  }

  return async function limit(call: Call): Promise<void> {
    const p = call.principal;
    // An upstream's request to the client is the client's own session's business; its requests were limited.
    if (p === undefined || call.direction === 'server') return;
    const now = deps.now();
    const settings = await deps.orgLimits.of(p.orgId, call.accessRevision);
    const byKey = await deps.limits.key(settings?.tiers.get(p.keyId), `${p.orgId}/${p.keyId}`, now);
    if (byKey !== undefined) throw refuse(call, byKey, p.keyId, p.orgId);
    if (settings === undefined) return;
    if (settings.org !== undefined) {
      const byOrg = await deps.limits.take('org', settings.org, p.orgId, now);
      if (byOrg !== undefined) throw refuse(call, byOrg, p.orgId, p.orgId);
    }
    if (settings.address !== undefined) {
      const ip = call.clientIp ?? 'unknown';
      const byAddress = await deps.limits.take('org_address', settings.address, `${p.orgId}/${ip}`, now);
      if (byAddress !== undefined) throw refuse(call, byAddress, ip, p.orgId);
    }
    const t = call.target;
    if (t?.kind !== 'tool') return;
    for (const rule of settings.tools) {
      if (!rule.matches(t.connector, t.original)) continue;
      const byTool = await deps.limits.take('tool', rule.spec, `${p.orgId}/${rule.pattern}`, now);
      if (byTool !== undefined) throw refuse(call, byTool, rule.pattern, p.orgId);
    }
  };
}
