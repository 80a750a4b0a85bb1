import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { displayPrefix, generateApiKey, hashApiKey, isWellFormedApiKey, pepperKey } from './api-key-format.ts';

test('generated keys are prefixed, well-formed and unique', () => {
  const keys = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const key = generateApiKey();
    assert.match(key, /^gth_[0-9A-Za-z]{49}$/);
    assert.ok(isWellFormedApiKey(key));
    keys.add(key);
  }
  assert.equal(keys.size, 200);
});

test('a key with one character changed fails the checksum', () => {
  const key = generateApiKey();
  const i = 10;
  const swapped = key.slice(0, i) + (key[i] === 'a' ? 'b' : 'a') + key.slice(i + 1);
  assert.equal(isWellFormedApiKey(swapped), false);
  assert.equal(isWellFormedApiKey(key + 'x'), false);
  assert.equal(isWellFormedApiKey(key.slice(0, -1)), false);
  assert.equal(isWellFormedApiKey('gth_'), false);
  assert.equal(isWellFormedApiKey(key.replace('gth_', 'ghp_')), false);
  assert.equal(isWellFormedApiKey(''), false);
});

test('the stored hash depends on the pepper and never contains the key', () => {
  const key = generateApiKey();
  const a = hashApiKey(key, pepperKey(randomBytes(32)));
  const b = hashApiKey(key, pepperKey(randomBytes(32)));
  assert.notEqual(a, b);
  assert.match(a, /^[0-9a-f]{64}$/);
  assert.ok(!a.includes(key.slice(4, 12)));
  assert.equal(displayPrefix(key), key.slice(0, 10) + '…');
});
