import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CONNECTOR_NAME, exposedName, exposedUri, splitUri } from './names.ts';

const VALID = /^[A-Za-z0-9_.-]{1,128}$/;

test('valid names are prefixed as they are', () => {
  assert.equal(exposedName('alpha', 'echo'), 'alpha__echo');
  assert.equal(exposedName('alpha', 'dotted.name'), 'alpha__dotted.name');
  assert.equal(exposedName('alpha', 'Mixed-Case_name'), 'alpha__Mixed-Case_name');
});

test('names that break the rules become valid, stable and distinct', () => {
  const long = 'x'.repeat(128);
  const a = exposedName('alpha', long);
  assert.match(a, VALID);
  assert.equal(a, exposedName('alpha', long));
  const b = exposedName('alpha', 'x'.repeat(127) + 'y');
  assert.notEqual(a, b);
  const spaced = exposedName('alpha', 'bad name!');
  const other = exposedName('alpha', 'bad_name_');
  assert.match(spaced, VALID);
  assert.notEqual(spaced, other);
  assert.notEqual(exposedName('alpha', 'bad name?'), spaced);
});

test('connector names cannot contain the separator', () => {
  assert.ok(CONNECTOR_NAME.test('my-server1'));
  for (const bad of ['a_b', 'a__b', '-a', 'a-', 'A', '', 'a+b', 'x'.repeat(33)]) assert.equal(CONNECTOR_NAME.test(bad), false, bad);
});

test('resource URIs round-trip through the connector prefix', () => {
  const u = exposedUri('files', 'file:///etc/x+y');
  assert.equal(u, 'files+file:///etc/x+y');
  assert.deepEqual(splitUri(u), { connector: 'files', uri: 'file:///etc/x+y' });
  assert.equal(splitUri('file:///etc'), undefined);
  assert.equal(splitUri('+x'), undefined);
  assert.equal(splitUri('Bad_Name+x'), undefined);
});
