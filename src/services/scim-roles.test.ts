import { test } from 'node:test';
import assert from 'node:assert/strict';
import { roleFromGroups } from './scim-roles.ts';

const g = (displayName: string, externalId: string | null = null) => ({ displayName, externalId });

test('the highest mapped role wins, matched by displayName or externalId', () => {
  const mappings = [
    { idpGroup: 'Engineering', role: 'member' as const },
    { idpGroup: '00g1admins', role: 'admin' as const },
    { idpGroup: 'Auditors', role: 'viewer' as const },
  ];
  assert.equal(roleFromGroups([g('Engineering')], mappings), 'member');
  assert.equal(roleFromGroups([g('Engineering'), g('Platform Admins', '00g1admins')], mappings), 'admin');
  assert.equal(roleFromGroups([g('Auditors'), g('Engineering')], mappings), 'member');
  assert.equal(roleFromGroups([g('Auditors')], mappings), 'viewer');
});

test('unmapped groups grant nothing, and nothing matches loosely', () => {
  const mappings = [{ idpGroup: 'Engineering', role: 'admin' as const }];
  assert.equal(roleFromGroups([], mappings), undefined);
  assert.equal(roleFromGroups([g('Sales'), g('engineering'), g('Engineering ')], mappings), undefined);
  assert.equal(roleFromGroups([g('Engineering')], []), undefined);
});

test('owner comes only from an explicit mapping to owner', () => {
  assert.equal(roleFromGroups([g('Owners'), g('Admins')], [{ idpGroup: 'Admins', role: 'admin' }]), 'admin');
  assert.equal(roleFromGroups([g('Owners'), g('Admins')], [{ idpGroup: 'Admins', role: 'admin' }, { idpGroup: 'Owners', role: 'owner' }]), 'owner');
});
