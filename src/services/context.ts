import type { KeyObject } from 'node:crypto';
import type { AuditLog } from '../gateway/audit/audit-log.ts';
import type { Store } from '../store/types.ts';
import type { SecretBox } from '../vault/secret-box.ts';

/** What the control-plane services need; the CLI builds it today, the admin API will build the same. */
export interface ServiceContext {
  readonly store: Store;
  readonly audit: AuditLog;
  readonly pepper: KeyObject;
  readonly box: SecretBox;
}

/** Who made a change, for the audit record. */
export interface Actor {
  readonly user: string;
  readonly keyId?: string | undefined;
  readonly clientIp?: string | undefined;
}

export function changeEvent(orgId: string, actor: Actor, action: string, target: { connector?: string; name?: string }, args: unknown) {
  return {
    ts: new Date().toISOString(),
    orgId,
    actorKeyId: actor.keyId ?? null,
    actorUser: actor.user,
    clientIp: actor.clientIp ?? null,
    action,
    targetConnector: target.connector ?? null,
    targetName: target.name ?? null,
    decision: 'allow' as const,
    reason: null,
    latencyMs: null,
    correlationId: null,
    args: args === undefined ? null : JSON.stringify(args),
  };
}
