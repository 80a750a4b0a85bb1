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
  'keys create': 'key.create',
  'keys list': 'key.read',
  'keys revoke': 'key.revoke',
  'keys rotate': 'key.rotate',
  'connectors add': 'connector.create',
  'connectors list': 'connector.read',
  'connectors remove': 'connector.delete',
  'scim show': 'scim.read',
  'scim token': 'scim.token.rotate',
  'scim revoke': 'scim.token.revoke',
  'scim map': 'scim.mapping.update',
  'scim unmap': 'scim.mapping.update',
  'audit verify': 'audit.verify',
  'audit export': 'audit.export',
} as const satisfies Record<string, Action>;

export type CliCommand = keyof typeof CLI_COMMANDS;

export function cliAction(group: string, sub: string | undefined): Action | undefined {
  const name = `${group} ${sub ?? ''}`;
  return Object.hasOwn(CLI_COMMANDS, name) ? CLI_COMMANDS[name as CliCommand] : undefined;
}
