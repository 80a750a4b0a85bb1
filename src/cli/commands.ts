import type { Action } from '../gateway/access/permissions.ts';

/**
 * Every CLI command and the permission-table action it performs. The CLI runs as the operator, but each command
 * is still checked against the table before it runs, so the table stays the one place that says who may do what,
 * and a command missing from this list does not run at all.
 */
export const CLI_COMMANDS = {
  'orgs create': 'org.create',
  'orgs list': 'org.list_all',
  'orgs rename': 'org.update',
  'orgs delete': 'org.delete',
  'members add': 'member.add',
  'members list': 'member.read',
  'members set-role': 'member.update',
  'members remove': 'member.remove',
  'members set-password': 'user.set_password',
  'orgs sign-in': 'sign_in.update',
  'keys create': 'key.create',
  'keys list': 'key.read',
  'keys schedule': 'key.update',
  'keys revoke': 'key.revoke',
  'keys rotate': 'key.rotate',
  'keys policy': 'key.read',
  'keys set-policy': 'org.update',
  'connectors add': 'connector.create',
  'connectors list': 'connector.read',
  'connectors update': 'connector.update',
  'connectors remove': 'connector.delete',
  'connectors trace-context': 'connector.update',
  'servers add': 'virtual_server.create',
  'servers list': 'virtual_server.read',
  'servers show': 'virtual_server.read',
  'servers update': 'virtual_server.update',
  'servers remove': 'virtual_server.delete',
  /** Prints client configuration; with --key-id it reads the key, with --server the virtual server (each checked too). */
  connect: 'key.read',
  'scim show': 'scim.read',
  'scim token': 'scim.token.rotate',
  'scim revoke': 'scim.token.revoke',
  'scim map': 'scim.mapping.update',
  'scim unmap': 'scim.mapping.update',
  'network allow': 'network.update',
  'network remove': 'network.update',
  'network clear': 'network.update',
  'network show': 'network.read',
  'traffic show': 'traffic.read',
  'traffic org-limit': 'traffic.update',
  'traffic address-limit': 'traffic.update',
  'traffic tool-limit': 'traffic.update',
  'traffic key-tier': 'traffic.update',
  'traffic deny': 'network.update',
  'traffic approval': 'traffic.update',
  'traffic quota': 'traffic.update',
  'approvals list': 'approval.read',
  'approvals show': 'approval.read',
  'approvals approve': 'approval.decide',
  'approvals deny': 'approval.decide',
  'guardrails show': 'guardrails.read',
  'guardrails set': 'guardrails.update',
  'guardrails connector': 'guardrails.update',
  'guardrails tool': 'guardrails.update',
  'guardrails deny-rule': 'guardrails.update',
  'oauth issuers add': 'oauth_issuer.create',
  'oauth issuers list': 'oauth_issuer.read',
  'oauth issuers remove': 'oauth_issuer.delete',
  'tools review': 'tool_pin.read',
  'tools list': 'tool_pin.read',
  'tools approve': 'tool_pin.review',
  'tools reject': 'tool_pin.review',
  'tools classify': 'tool_pin.review',
  'tools read-only': 'connector.update',
  'tools auto-approve': 'connector.update',
  'policy set': 'policy.update',
  'policy show': 'policy.read',
  'policy clear': 'policy.update',
  'policy test': 'policy.read',
  'audit verify': 'audit.verify',
  'audit export': 'audit.export',
  /** Every SIEM sink's cursor and lag in every chain: the operator's view across organisations. */
  'audit sinks': 'org.list_all',
  'vault status': 'vault.read',
  'vault rotate-kek': 'vault.rotate',
  'vault rotate-dek': 'vault.rotate',
  'audit public-key': 'audit.verify',
} as const satisfies Record<string, Action>;

export type CliCommand = keyof typeof CLI_COMMANDS;

/** The action of `group sub`, or of `group` alone for a command without subcommands (sub undefined). */
export function cliAction(group: string, sub: string | undefined): Action | undefined {
  const name = sub === undefined ? group : `${group} ${sub}`;
  return Object.hasOwn(CLI_COMMANDS, name) ? CLI_COMMANDS[name as CliCommand] : undefined;
}
