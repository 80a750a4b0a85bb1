import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACTIONS, boundedRole, isAllowed, PERMISSIONS, roleWithin, ROLES, type Action, type Role } from './permissions.ts';

const o = true;
const _ = false;

/**
 * The expected table, written out cell by cell (columns: owner, admin, member, viewer, operator). It repeats the
 * table in code on purpose: a change to a permission has to be made twice, once here where it is reviewed.
 */
const EXPECTED: Record<Action, readonly [boolean, boolean, boolean, boolean, boolean]> = {
  'self.read':              [o, o, o, o, o],
  'api.describe':           [o, o, o, o, o],
  'org.read':               [o, o, o, o, o],
  'org.update':             [o, _, _, _, o],
  'org.delete':             [o, _, _, _, o],
  'org.create':             [_, _, _, _, o],
  'org.list_all':           [_, _, _, _, o],
  'member.read':            [o, o, _, o, o],
  'member.add':             [o, o, _, _, o],
  'member.update':          [o, o, _, _, o],
  'member.remove':          [o, o, _, _, o],
  'key.read':               [o, o, o, o, o],
  'key.read_any':           [o, o, _, o, o],
  'key.create':             [o, o, o, _, o],
  'key.update':             [o, o, o, _, o],
  'key.revoke':             [o, o, o, _, o],
  'key.rotate':             [o, o, o, _, o],
  'key.manage_any':         [o, o, _, _, o],
  'connector.read':         [o, o, o, o, o],
  'connector.create':       [o, o, _, _, o],
  'connector.update':       [o, o, _, _, o],
  'connector.delete':       [o, o, _, _, o],
  'connector.manage_stdio': [_, _, _, _, o],
  'connector.oauth_connect': [o, o, o, _, o],
  'virtual_server.read':    [o, o, o, o, o],
  'virtual_server.create':  [o, o, _, _, o],
  'virtual_server.update':  [o, o, _, _, o],
  'virtual_server.delete':  [o, o, _, _, o],
  'sign_in.read':           [o, o, _, o, o],
  'sign_in.update':         [o, o, _, _, o],
  'user.set_password':      [_, _, _, _, o],
  'scim.read':              [o, o, _, _, o],
  'scim.token.rotate':      [o, o, _, _, o],
  'scim.token.revoke':      [o, o, _, _, o],
  'scim.mapping.update':    [o, o, _, _, o],
  'network.read':           [o, o, _, o, o],
  'network.update':         [o, o, _, _, o],
  'traffic.read':           [o, o, _, o, o],
  'traffic.update':         [o, o, _, _, o],
  'guardrails.read':        [o, o, _, o, o],
  'guardrails.update':      [o, o, _, _, o],
  'policy.read':            [o, o, _, o, o],
  'policy.update':          [o, o, _, _, o],
  'approval.read':          [o, o, _, o, o],
  'approval.decide':        [o, o, _, _, o],
  'oauth_issuer.read':      [o, o, _, o, o],
  'oauth_issuer.create':    [o, o, _, _, o],
  'oauth_issuer.delete':    [o, o, _, _, o],
  'tool_pin.read':          [o, o, _, o, o],
  'tool_pin.review':        [o, o, _, _, o],
  'audit.read':             [o, o, _, o, o],
  'audit.export':           [o, o, _, o, o],
  'audit.settings.read':    [o, o, _, o, o],
  'audit.settings.update':  [o, _, _, _, o],
  'audit.prune':            [o, _, _, _, o],
  'audit.verify':           [o, o, _, o, o],
  'vault.read':             [_, _, _, _, o],
  'vault.read_org':         [o, _, _, _, o],
  'vault.rotate':           [_, _, _, _, o],
  'vault.destroy_kek':      [_, _, _, _, o],
};
const COLUMNS: readonly Role[] = ['owner', 'admin', 'member', 'viewer', 'operator'];

test('the role columns are the five roles', () => {
  assert.deepEqual([...ROLES].sort(), [...COLUMNS].sort());
});

test('the table has exactly the expected actions', () => {
  assert.deepEqual([...ACTIONS].sort(), Object.keys(EXPECTED).sort());
});

for (const action of Object.keys(EXPECTED) as Action[]) {
  for (const [i, role] of COLUMNS.entries()) {
    const expected = EXPECTED[action][i];
    test(`${role} ${expected === true ? 'may' : 'may not'} ${action}`, () => {
      assert.equal(isAllowed(role, action), expected);
    });
  }
}

test('deny by default: unknown actions and roles, and inherited object keys, are refused', () => {
  for (const role of COLUMNS) {
    assert.equal(isAllowed(role, 'key.destroy_everything'), false);
    assert.equal(isAllowed(role, ''), false);
    assert.equal(isAllowed(role, 'toString'), false);
    assert.equal(isAllowed(role, '__proto__'), false);
    assert.equal(isAllowed(role, 'constructor'), false);
  }
  for (const action of ACTIONS) {
    assert.equal(isAllowed('superuser', action), false);
    assert.equal(isAllowed('', action), false);
    assert.equal(isAllowed('Owner', action), false);
  }
});

test('the table is frozen in shape: every row lists only known roles, without repeats', () => {
  for (const [action, roles] of Object.entries(PERMISSIONS)) {
    assert.equal(new Set(roles).size, roles.length, action);
    for (const r of roles) assert.ok(COLUMNS.includes(r), `${action}: ${r}`);
  }
});

test('roleWithin: a role may hand out only roles that can do nothing more than it can', () => {
  // rows: the role handed out; columns: the ceiling (owner, admin, member, viewer, operator)
  const within: Record<Role, readonly boolean[]> = {
    owner:    [o, _, _, _, o],
    admin:    [o, o, _, _, o],
    member:   [o, o, o, _, o],
    viewer:   [o, o, _, o, o],
    operator: [_, _, _, _, o],
  };
  for (const role of COLUMNS) {
    for (const [i, ceiling] of COLUMNS.entries()) {
      assert.equal(roleWithin(role, ceiling), within[role][i], `${role} within ${ceiling}`);
    }
  }
});

test('boundedRole: a key acting for a user has the lower of the two roles, or none when they are incomparable', () => {
  assert.equal(boundedRole('owner', 'owner'), 'owner');
  assert.equal(boundedRole('admin', 'member'), 'member');
  assert.equal(boundedRole('owner', 'viewer'), 'viewer');
  assert.equal(boundedRole('member', 'admin'), 'member');
  assert.equal(boundedRole('viewer', 'owner'), 'viewer');
  assert.equal(boundedRole('viewer', 'member'), undefined);
  assert.equal(boundedRole('member', 'viewer'), undefined);
});
