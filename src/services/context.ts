import type { UserOAuth } from '../gateway/upstream/oauth/user-tokens.ts';
import type { ConnectorHealthView } from '../gateway/upstream/health-snapshot.ts';
import type { KeyObject } from 'node:crypto';
import { GatehouseError } from '../errors.ts';
import { auditEvent, auditJson } from '../gateway/audit/event.ts';
import type { AuditLog } from '../gateway/audit/audit-log.ts';
import { isAllowed, type Action, type Role } from '../gateway/access/permissions.ts';
import type { AuditEvent, Store } from '../store/types.ts';
import type { Egress } from '../egress/egress.ts';
import type { SecretBox } from '../vault/secret-box.ts';
import type { Vault } from '../vault/vault.ts';

/** What the control-plane services need; the CLI and the admin API build the same. */
export interface ServiceContext {
  readonly store: Store;
  readonly audit: AuditLog;
  readonly pepper: KeyObject;
  /** The single key of sign-in secrets, TOTP seeds and idempotent answers (connector secrets are the vault's). */
  readonly box: SecretBox;
  /** Connector secrets: per-organisation data keys under the key provider's KEK (src/vault). */
  readonly vault: Vault;
  /** The one door out (src/egress): connector URLs are checked by it when stored. */
  readonly egress: Egress;
  /** A connector's health as the running gateway sees it (breaker, in-flight calls, failures); absent: unknown. */
  readonly connectorHealth?: ((connectorId: string) => ConnectorHealthView | undefined) | undefined;
  /** GATEHOUSE_ENV=production: stricter defaults where a service has one (the key policy). Absent: development. */
  readonly production?: boolean;
  /** The SIEM sinks configured (syslog, webhook, otlp): retention keeps every record one of them has not delivered. */
  readonly siemSinks?: readonly string[];
  /** Upstream OAuth per user (gateway/upstream/oauth/user-tokens.ts); set by the app once the gateway is built. */
  upstreamOAuth?: UserOAuth | undefined;
}

/**
 * Who is acting on the control plane, however they were identified: an API key, the operator at the machine (the
 * CLI), an organisation's SCIM token (its identity provider), or a person's browser session
 * (identity/browser-session.ts). Services decide on this alone.
 */
export interface Actor {
  readonly via: 'api_key' | 'session' | 'operator' | 'scim';
  /** The effective role: for a key acting for a user, no more than the user's membership allows. */
  readonly role: Role;
  /** The one organisation the actor acts in; null for the operator, who may act in any. */
  readonly orgId: string | null;
  readonly userId: string | null;
  readonly keyId: string | null;
  /** The key scopes the actor holds, and so the widest it may hand out. */
  readonly scopes: readonly string[];
  /** The virtual servers the actor's key is restricted to (null: unrestricted): keys it creates reach no further. */
  readonly servers: readonly string[] | null;
  /** The networks (CIDR) the actor's key may be used from (null: anywhere its organisation allows): keys it creates likewise. */
  readonly cidrs: readonly string[] | null;
  /** When the actor's own credential expires: keys it creates may not outlive it. */
  readonly expiresAt: string | null;
  /** How the actor is named in audit records (`cli:alice`, a user id). */
  readonly name: string;
  readonly clientIp: string | null;
  readonly correlationId: string | null;
}

/** The operator at the machine: the CLI, tests and bootstrap act as this. */
export function operatorActor(name: string): Actor {
  return {
    via: 'operator',
    role: 'operator',
    orgId: null,
    userId: null,
    keyId: null,
    scopes: ['*'],
    servers: null,
    cidrs: null,
    expiresAt: null,
    name,
    clientIp: null,
    correlationId: null,
  };
}

/** Refuses an action the actor's role does not allow (the permission table, deny by default). */
export function authorize(actor: Actor, action: Action): void {
  if (!isAllowed(actor.role, action)) throw new GatehouseError('forbidden', `Your role (${actor.role}) does not allow ${action}`);
}

/**
 * Refuses to act in another organisation than the actor's, answering exactly as for something that does not exist:
 * one organisation cannot learn whether another's objects exist.
 */
export function requireSameOrg(actor: Actor, orgId: string, notFound: string): void {
  if (actor.orgId !== null && actor.orgId !== orgId) throw new GatehouseError('not_found', notFound);
}

export interface ChangeTarget {
  readonly connector?: string;
  readonly name?: string;
}

export function changeEvent(orgId: string, actor: Actor, action: string, target: ChangeTarget, args: unknown): AuditEvent {
  return auditEvent({
    orgId,
    actor: { keyId: actor.keyId, user: actor.userId ?? (actor.via === 'operator' ? actor.name : null) },
    clientIp: actor.clientIp,
    action,
    connector: target.connector ?? null,
    target: target.name ?? null,
    decision: 'allow',
    correlationId: actor.correlationId,
    args: auditJson(args),
  });
}
