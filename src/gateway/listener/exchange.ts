import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuditDecision, AuditEvent } from '../../store/types.ts';
import type { Principal } from '../authn/authenticate.ts';

/** Per-request facts the listener gathered before an endpoint runs. */
export interface HttpExchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly correlationId: string;
  readonly clientIp: string | null;
  /** Security, CORS and correlation headers for the response. */
  readonly headers: Record<string, string>;
  principal?: Principal;
  rpcMethod?: string;
}

/** An audit event for something the endpoint decided itself (authentication, sessions, malformed input). */
export function httpEvent(
  x: HttpExchange,
  who: { orgId: string; keyId?: string | undefined },
  action: string,
  decision: AuditDecision,
  reason: string | null,
  targetName: string | null = null,
): AuditEvent {
  return {
    ts: new Date().toISOString(),
    orgId: who.orgId,
    actorKeyId: who.keyId ?? null,
    actorUser: null,
    clientIp: x.clientIp,
    action,
    targetConnector: null,
    targetName,
    decision,
    reason,
    latencyMs: null,
    correlationId: x.correlationId,
    args: null,
  };
}
