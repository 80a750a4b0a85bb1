import type { Allowlist } from '../../cidr.ts';
import { GatehouseError } from '../../errors.ts';
import { SYSTEM_CHAIN, type AuditLog } from '../audit/audit-log.ts';
import { auditEvent } from '../audit/event.ts';
import type { TrafficLimits } from './limits.ts';
import type { RefusalAudit } from './refusal-audit.ts';

export type ControlPlane = 'api' | 'scim' | 'auth';

export interface ControlPlaneGate {
  /** Before the admin API, SCIM or sign-in sees the request: the deny list and the address's limits. Throws to refuse. */
  admit(plane: ControlPlane, ip: string | null, requestLine: string, correlationId: string): Promise<void>;
  /** The handler answered 401: one more authentication failure for the address. */
  failed(ip: string | null): Promise<void>;
}

const DENIED = new GatehouseError('forbidden', 'Not allowed from this network');

/**
 * The same address checks as the data path's first stage, for the control plane (the listener calls it before it
 * dispatches /api/v1, /scim/v2 and /auth): the gateway's deny list, the address's limit, and the strict limit on
 * authentication failures (and on every sign-in request). Refusals are recorded like the data path's, flood-bounded.
 */
export function createControlPlaneGate(deps: {
  readonly limits: Pick<TrafficLimits, 'beforeAuthentication' | 'authenticationFailed' | 'signIn'>;
  readonly gatewayDeny: Allowlist | undefined;
  readonly refusals: Pick<RefusalAudit, 'refused'>;
  readonly audit: Pick<AuditLog, 'record'>;
  readonly now: () => number;
}): ControlPlaneGate {
  async function record(limit: string, action: string, reason: string, ip: string | null, requestLine: string, correlationId: string): Promise<void> {
    const facts = { orgId: SYSTEM_CHAIN, actor: undefined, clientIp: ip, action };
    if (!deps.refusals.refused(limit, ip ?? 'unknown', facts, deps.now())) return;
    await deps.audit.record(
      auditEvent({ orgId: SYSTEM_CHAIN, clientIp: ip, action, target: limit === 'deny' ? 'gateway' : requestLine, decision: 'deny', reason, correlationId, detail: { limit: { name: limit } } }),
    );
  }

  return {
    async admit(plane, ip, requestLine, correlationId) {
      if (deps.gatewayDeny?.allows(ip) === true) {
        await record('deny', 'auth.network', 'ip_denied', ip, requestLine, correlationId);
        throw DENIED;
      }
      const now = deps.now();
      const refused = plane === 'auth' ? await deps.limits.signIn(ip, now) : await deps.limits.beforeAuthentication(ip, now);
      if (refused === undefined) return;
      const name = String(refused.data?.reason);
      await record(name, 'traffic.limited', `rate_limited:${name}`, ip, requestLine, correlationId);
      throw refused;
    },
    failed(ip) {
      return deps.limits.authenticationFailed(ip, deps.now());
    },
  };
}
