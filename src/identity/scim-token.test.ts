import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateApiKey, isWellFormedApiKey } from '../gateway/authn/api-key-format.ts';
import { generateScimToken, isWellFormedScimToken, scimTokenPrefix } from './scim-token.ts';

test('a SCIM token has its own prefix and checksum, and is never taken for an API key or the other way round', () => {
  const token = generateScimToken();
  assert.match(token, /^gths_[0-9A-Za-z]{49}$/);
  assert.ok(isWellFormedScimToken(token));
  assert.equal(isWellFormedApiKey(token), false);
  assert.equal(isWellFormedScimToken(generateApiKey()), false);
  assert.equal(scimTokenPrefix(token), token.slice(0, 11) + '…');
});

test('a mistyped SCIM token fails its checksum without a lookup', () => {
  const token = generateScimToken();
  const last = token.at(-1) === 'A' ? 'B' : 'A';
  assert.equal(isWellFormedScimToken(token.slice(0, -1) + last), false);
  assert.equal(isWellFormedScimToken(token + 'x'), false);
  assert.equal(isWellFormedScimToken(token.replace('gths_', 'gthx_')), false);
  assert.equal(isWellFormedScimToken(token.slice(0, -2) + '-_'), false);
});
