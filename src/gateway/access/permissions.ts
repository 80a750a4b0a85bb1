import type { KeyRole } from '../../store/types.ts';

/**
 * Who may do what on the control plane: one row per action, listing the roles allowed. Anything not listed is
 * denied, and an action not in the table is denied to everyone. Every admin-API route and every CLI command names
 * one of these actions; finer rules (a member's own keys, role ceilings, scope subsets) are applied by the services
 * on top of this table, never instead of it.
 *
 * `operator` is the person at the machine (the CLI): whoever can read the data directory or the database URL and
 * master key holds every secret anyway, so it is allowed everything, and is the only role that can create
 * organisations or run commands on the gateway host (stdio connectors).
 */
export const ORG_ROLES = ['owner', 'admin', 'member', 'viewer'] as const satisfies readonly KeyRole[];
export type Role = KeyRole | 'operator';
export const ROLES: readonly Role[] = [...ORG_ROLES, 'operator'];

const ALL = ['owner', 'admin', 'member', 'viewer', 'operator'] as const;
const READERS = ['owner', 'admin', 'viewer', 'operator'] as const;
const MANAGERS = ['owner', 'admin', 'operator'] as const;
const KEY_HOLDERS = ['owner', 'admin', 'member', 'operator'] as const;

export const PERMISSIONS = {
  /** The caller's own identity and the API description. */
  'self.read': ALL,
  'api.describe': ALL,

  'org.read': ALL,
  'org.update': ['owner', 'operator'],
  'org.delete': ['owner', 'operator'],
  /** Creating tenants is a platform act, not an organisation's: reserved to the operator. */
  'org.create': ['operator'],
  'org.list_all': ['operator'],

  'member.read': READERS,
  'member.add': MANAGERS,
  'member.update': MANAGERS,
  'member.remove': MANAGERS,

  /** Reading keys: a member sees its own (the services filter); readers see every key's metadata. */
  'key.read': ALL,
  'key.read_any': READERS,
  /** Creating, renaming, revoking and rotating keys: a member its own; managers any (within their role). */
  'key.create': KEY_HOLDERS,
  'key.update': KEY_HOLDERS,
  'key.revoke': KEY_HOLDERS,
  'key.rotate': KEY_HOLDERS,
  'key.manage_any': MANAGERS,

  'connector.read': ALL,
  'connector.create': MANAGERS,
  'connector.update': MANAGERS,
  'connector.delete': MANAGERS,
  /** A stdio connector runs a command on the gateway host: an organisation's admin must not be able to. */
  'connector.manage_stdio': ['operator'],
  /**
   * OAuth per user: a person connects (and disconnects) their own account at a connector's upstream. Only a person
   * has an account to connect, and only for themselves: the operator (no user) is refused by the service.
   */
  'connector.oauth_connect': KEY_HOLDERS,

  /** Virtual servers select from the connectors' catalog: whoever reads connectors reads them, managers change them. */
  'virtual_server.read': ALL,
  'virtual_server.create': MANAGERS,
  'virtual_server.update': MANAGERS,
  'virtual_server.delete': MANAGERS,

  /** How people sign in: session timeouts, required MFA, the organisation's IdP (its client secret is write-only). */
  'sign_in.read': READERS,
  'sign_in.update': MANAGERS,
  /**
   * Setting someone's password: users are global (one person may be in several organisations), so an organisation's
   * admin setting it would take over the person's other memberships. The operator does it; people change their own.
   */
  'user.set_password': ['operator'],

  /**
   * SCIM provisioning: the organisation's bearer token (created or rotated, shown once; revoked) and its IdP group ->
   * role mappings. Mapping a group to owner is further limited to owners by the services (no role wider than yours).
   */
  'scim.read': MANAGERS,
  'scim.token.rotate': MANAGERS,
  'scim.token.revoke': MANAGERS,
  'scim.mapping.update': MANAGERS,

  /**
   * Network rules: the organisation's IP allowlists for the MCP and admin API planes. Readers see them (they say
   * where the organisation is reachable from, not a secret); managers change them.
   */
  'network.read': READERS,
  'network.update': MANAGERS,

  /**
   * Traffic: the organisation's rate limits (its total, per tool), the tiers of its keys, and its deny lists. Readers
   * see them; managers change them.
   */
  'traffic.read': READERS,
  'traffic.update': MANAGERS,

  /**
   * Guardrails: schema checks, deny rules, PII and secret detection and the output cap, per organisation, connector and
   * tool. Readers see them; managers change them.
   */
  'guardrails.read': READERS,
  'guardrails.update': MANAGERS,

  /**
   * The OAuth issuers whose access tokens agents may present. Adding one hands out rights like creating a key does,
   * so the services keep its scope map and servers within the actor's own (no more than yours).
   */
  'oauth_issuer.read': READERS,
  'oauth_issuer.create': MANAGERS,
  'oauth_issuer.delete': MANAGERS,

  /**
   * Tool pinning: readers see pinned definitions and pending changes with their diff and findings; managers approve,
   * reject and classify tools (reading or not, for read-only connectors).
   */
  'tool_pin.read': READERS,
  'tool_pin.review': MANAGERS,

  /**
   * The organisation's Cedar policy set: readers see it (and may ask what it would decide); managers replace or clear
   * it. A set can refuse anything the roles and scopes allow, never grant more.
   */
  'policy.read': READERS,
  'policy.update': MANAGERS,

  /**
   * Human approval of tool calls: readers see what waits (tool, key, redacted arguments); managers approve or deny.
   */
  'approval.read': READERS,
  'approval.decide': MANAGERS,

  /** Reading the log page by page, and verifying it. */
  'audit.read': READERS,
  'audit.verify': READERS,

  /** The vault's keys are the platform's: their status and rotation are the operator's alone. */
  'vault.read': ['operator'],
  /** An organisation's own view: the provider's kind, the KEK version, its own data key versions (no host details). */
  'vault.read_org': ['owner', 'operator'],
  'vault.rotate': ['operator'],
  /** Destroying a retired key-encryption key version for good (nothing wrapped under it may remain). */
  'vault.destroy_kek': ['operator'],
  /**
   * Bulk export: the whole log at once, out of the gateway's hands. Owners and admins; viewers only where their
   * organisation granted it (`audit export-grant viewer on`), which services/audit.ts checks for the API and the CLI
   * alike: the table lists who may ask, the grant decides for viewers. Never members.
   */
  'audit.export': READERS,
  /**
   * The organisation's audit settings: how long records are kept (retention) and whether viewers may export. Owners
   * only: removing evidence and widening who takes it away are the owner's decisions. Pruning now is the same right.
   */
  'audit.settings.read': READERS,
  'audit.settings.update': ['owner', 'operator'],
  'audit.prune': ['owner', 'operator'],
} as const satisfies Record<string, readonly Role[]>;

export type Action = keyof typeof PERMISSIONS;
export const ACTIONS = Object.keys(PERMISSIONS) as Action[];

/** Deny by default: an unknown action or role, or a role not listed for the action, is refused. */
export function isAllowed(role: string, action: string): boolean {
  if (!Object.hasOwn(PERMISSIONS, action)) return false;
  return (PERMISSIONS[action as Action] as readonly string[]).includes(role);
}

export function isAction(value: string): value is Action {
  return Object.hasOwn(PERMISSIONS, value);
}

/**
 * Whether `role` can do nothing that `ceiling` cannot: its allowed actions are a subset of the ceiling's. Roles are
 * not a ladder (a viewer reads the audit log, a member does not), so a member may not mint a viewer key.
 */
export function roleWithin(role: Role, ceiling: Role): boolean {
  return ACTIONS.every((action) => !isAllowed(role, action) || isAllowed(ceiling, action));
}

/**
 * The role a key acting for a user has: no more than either the key's or the user's membership role allows. When
 * neither is within the other there is no such role, and the key is refused (undefined).
 */
export function boundedRole(keyRole: KeyRole, membershipRole: KeyRole): KeyRole | undefined {
  if (roleWithin(keyRole, membershipRole)) return keyRole;
  if (roleWithin(membershipRole, keyRole)) return membershipRole;
  return undefined;
}
