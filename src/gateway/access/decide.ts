import type { Allowlist } from '../../cidr.ts';
import type { Principal } from '../principal.ts';

/**
 * THE decision point of the data path. Every access question about a principal goes through `decide`: from where it
 * may connect (the organisation's allowlist for the plane, the credential's own CIDRs), which endpoint it may use
 * (the whole catalog or a virtual server), and which tools, prompts and resources it may see and use (its scopes).
 * Lists call it per item. Each rule either refuses or passes; a target no rule grants is refused (deny by default).
 * Cedar policies plug in here as one more rule.
 */
export type AccessAction =
  /** Reaching an endpoint at all: network rules and the endpoint itself, before anything is read from the request. */
  | 'connect'
  /** Seeing an item in a list. */
  | 'list'
  /** Using a resolved target: calling a tool, getting a prompt, reading, subscribing to or completing a resource. */
  | 'use';

export type AccessTarget =
  /** `/mcp` (server null) or `/servers/{name}/mcp`; `exists` says whether that virtual server exists. */
  | { readonly kind: 'endpoint'; readonly server: string | null; readonly exists: boolean }
  | { readonly kind: 'tool'; readonly connector: string; readonly name: string }
  | { readonly kind: 'prompt' | 'resource'; readonly connector: string }
  /** Any part of a connector (whether to tell the principal that the connector is down). */
  | { readonly kind: 'connector'; readonly connector: string };

export interface AccessContext {
  readonly clientIp: string | null;
  /** The organisation's allowlist for the plane being reached; undefined when it has none (no restriction). */
  readonly orgNetwork: Allowlist | undefined;
  /** The organisation's deny list for the plane; undefined when it has none. Beats the allowlist. */
  readonly orgDeny?: Allowlist | undefined;
  /** What admins said about connectors and their tools (read-only); given wherever a tool is listed or used. */
  readonly connectors?: ConnectorFacts;
}

/**
 * Read-only connectors, enforced by the gateway: on a connector an admin marked read-only, only tools an admin
 * classified as reading may be listed and used. An upstream's `readOnlyHint` is never taken for a classification.
 */
export interface ConnectorFacts {
  readOnly(orgId: string, connector: string): boolean;
  reads(orgId: string, connector: string, tool: string): boolean;
}

export type Decision =
  | { readonly allow: true; readonly rule: string }
  | { readonly allow: false; readonly rule: string; readonly reason: string };

type Rule = (p: Principal, action: AccessAction, target: AccessTarget | undefined, ctx: AccessContext) => Decision | undefined;

const deny = (rule: string, reason: string): Decision => Object.freeze({ allow: false, rule, reason });
const allow = (rule: string): Decision => Object.freeze({ allow: true, rule });

const ORG_NETWORK = deny('org', 'ip_not_allowed');
const ORG_DENIED = deny('org_deny', 'ip_denied');
const KEY_NETWORK = deny('key', 'ip_not_allowed');
const SERVER_SCOPE = deny('endpoint', 'server_scope');
const UNKNOWN_SERVER = deny('endpoint', 'unknown_server');
const OUT_OF_SCOPE = deny('scope', 'scope');
const CONNECTED = allow('network');
const IN_SCOPE = allow('scope');
const ENDPOINT = allow('endpoint');
const NO_RULE = deny('default', 'no_rule');
const READ_ONLY = deny('read_only', 'read_only');

/** In order; the first refusal decides. Which list refused (org or key) is for the audit record only. */
const RULES: readonly Rule[] = [
  (p, action, _t, ctx) => {
    if (action !== 'connect') return undefined;
    // Deny beats allow: an address on the deny list is refused even inside an allowed range.
    if (ctx.orgDeny?.allows(ctx.clientIp) === true) return ORG_DENIED;
    if (ctx.orgNetwork !== undefined && !ctx.orgNetwork.allows(ctx.clientIp)) return ORG_NETWORK;
    if (p.network !== null && !p.network.allows(ctx.clientIp)) return KEY_NETWORK;
    return CONNECTED;
  },
  // A key restricted to virtual servers may use only those; one it may not use answers like one that does not exist.
  (p, _a, t) => {
    if (t?.kind !== 'endpoint') return undefined;
    if (t.server === null) return p.servers === null ? ENDPOINT : SERVER_SCOPE;
    if (p.servers !== null && !p.servers.includes(t.server)) return SERVER_SCOPE;
    return t.exists ? ENDPOINT : UNKNOWN_SERVER;
  },
  (p, _a, t) => {
    if (t === undefined || t.kind === 'endpoint') return undefined;
    const granted =
      t.kind === 'tool' ? p.scopes.allowsTool(t.connector, t.name) : t.kind === 'connector' ? p.scopes.touchesConnector(t.connector) : p.scopes.allowsConnector(t.connector);
    return granted ? IN_SCOPE : OUT_OF_SCOPE;
  },
  // After the scopes, so a key learns of a tool it may not use only that it does not exist.
  (p, action, t, ctx) => {
    if (action === 'connect' || t?.kind !== 'tool' || ctx.connectors === undefined) return undefined;
    return ctx.connectors.readOnly(p.orgId, t.connector) && !ctx.connectors.reads(p.orgId, t.connector, t.name) ? READ_ONLY : undefined;
  },
];

export function decide(p: Principal, action: AccessAction, target: AccessTarget | undefined, ctx: AccessContext): Decision {
  let granted: Decision | undefined;
  for (const rule of RULES) {
    const d = rule(p, action, target, ctx);
    if (d === undefined) continue;
    if (!d.allow) return d;
    granted ??= d;
  }
  return granted ?? NO_RULE;
}
