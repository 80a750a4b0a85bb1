import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isAction, isAllowed } from '../gateway/access/permissions.ts';
import { APPROVALS_USAGE } from './approvals.ts';
import { AUDIT_USAGE } from './audit.ts';
import { CLI_COMMANDS, cliAction } from './commands.ts';
import { CONNECT_USAGE } from './connect.ts';
import { CONNECTORS_USAGE } from './connectors.ts';
import { KEYS_USAGE } from './keys.ts';
import { MEMBERS_USAGE } from './members.ts';
import { NETWORK_USAGE } from './network.ts';
import { TRAFFIC_USAGE } from './traffic.ts';
import { GUARDRAILS_USAGE } from './guardrails.ts';
import { OAUTH_USAGE } from './oauth.ts';
import { POLICY_USAGE } from './policy.ts';
import { ORGS_USAGE } from './orgs.ts';
import { SCIM_USAGE } from './scim.ts';
import { SERVERS_USAGE } from './servers.ts';
import { SIGN_IN_USAGE } from './sign-in.ts';
import { TOOLS_USAGE } from './tools.ts';
import { VAULT_USAGE } from './vault.ts';

test('every CLI command names an action of the permission table that the operator holds', () => {
  for (const [command, action] of Object.entries(CLI_COMMANDS)) {
    assert.ok(isAction(action), `${command}: ${action}`);
    assert.ok(isAllowed('operator', action), `${command}: ${action}`);
  }
});

test('the commands the usage text offers are exactly the commands in the table', () => {
  const usage = [ORGS_USAGE, MEMBERS_USAGE, SIGN_IN_USAGE, KEYS_USAGE, CONNECTORS_USAGE, SERVERS_USAGE, NETWORK_USAGE, TRAFFIC_USAGE, GUARDRAILS_USAGE, OAUTH_USAGE, POLICY_USAGE, CONNECT_USAGE, AUDIT_USAGE, SCIM_USAGE, TOOLS_USAGE, APPROVALS_USAGE, VAULT_USAGE].join('\n');
  // `gatehouse keys create ...`, `gatehouse oauth issuers add ...` (a group of groups), or `gatehouse connect
  // [--options]` for a command without subcommands.
  const offered = new Set([...usage.matchAll(/^gatehouse (\S+)(?: ([a-z][a-z-]*)\b)?(?: ([a-z][a-z-]*)\b)?/gm)].map((m) => [m[1], m[2], m[3]].filter((w) => w !== undefined).join(' ')));
  assert.deepEqual([...offered].sort(), Object.keys(CLI_COMMANDS).sort());
});

test('a command not in the table has no action, so it does not run', () => {
  assert.equal(cliAction('keys', 'create'), 'key.create');
  assert.equal(cliAction('keys', 'destroy'), undefined);
  assert.equal(cliAction('keys', undefined), undefined);
  assert.equal(cliAction('servers', 'add'), 'virtual_server.create');
  assert.equal(cliAction('connect', undefined), 'key.read');
  assert.equal(cliAction('connect', 'now'), undefined);
  assert.equal(cliAction('orgs', 'toString'), undefined);
  assert.equal(cliAction('serve', undefined), undefined);
  assert.equal(cliAction('oauth', 'issuers add'), 'oauth_issuer.create');
  assert.equal(cliAction('oauth', 'issuers'), undefined);
  assert.equal(cliAction('network', 'show'), 'network.read');
});
