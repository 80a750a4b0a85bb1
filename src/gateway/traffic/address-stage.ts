import type { Allowlist } from '../../cidr.ts';
import { GatehouseError } from '../../errors.ts';
import { SYSTEM_CHAIN } from '../audit/audit-log.ts';
import { noteDetail, type Call } from '../call.ts';
import type { TrafficLimits } from './limits.ts';
import type { RefusalAudit } from './refusal-audit.ts';

export interface AddressStageDeps {
  readonly limits: Pick<TrafficLimits, 'beforeAuthentication'>;
  /** The gateway-wide deny list (config `denyCidrs`); undefined when empty. */
  readonly gatewayDeny: Allowlist | undefined;
  readonly refusals: Pick<RefusalAudit, 'refused'>;
  readonly now: () => number;
}

// The same answer as an allowlist refusal: which list refused is for the audit record only.
const DENIED = new GatehouseError('forbidden', 'Not allowed from this network');

/**
 * Stage `authenticate`, first step: what is refused by the address alone, before any credential is looked at - the
 * gateway's deny list, the address's own rate limit, and an address that used up its authentication failures (a
 * flood of bad keys gets 429, not more 401s). The first refusal per limit and address in a window is recorded; the
 * rest are counted into one record (refusal-audit.ts).
 */
export function createAddressStage(deps: AddressStageDeps) {
  function refuse(call: Call, limit: string): void {
    call.audit.orgId = SYSTEM_CHAIN;
    call.audit.name = call.requestLine;
    noteDetail(call, 'limit', { name: limit });
    const facts = { orgId: SYSTEM_CHAIN, actor: undefined, clientIp: call.clientIp, action: call.audit.action };
    if (!deps.refusals.refused(limit, call.clientIp ?? 'unknown', facts, deps.now())) call.audit.suppressed = true;
  }

  return async function address(call: Call): Promise<void> {
    if (deps.gatewayDeny?.allows(call.clientIp) === true) {
      call.audit.action = 'auth.network';
      call.audit.reason = 'ip_denied';
      refuse(call, 'deny');
      call.audit.name = 'gateway';
      throw DENIED;
    }
    const refused = await deps.limits.beforeAuthentication(call.clientIp, deps.now());
    if (refused === undefined) return;
    call.audit.action = 'traffic.limited';
    refuse(call, String(refused.data?.reason));
    throw refused;
  };
}
