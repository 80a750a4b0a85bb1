import assert from 'node:assert/strict';
import { argon2Sync } from 'node:crypto';
import { test } from 'node:test';
import { DEFAULT_ARGON2, hashPassword, needsRehash, parsePasswordHash, verifyPassword } from './password-hash.ts';

test('a hash is a PHC string carrying its parameters, salted afresh each time', async () => {
  const a = await hashPassword('correct horse battery staple');
  const b = await hashPassword('correct horse battery staple');
  assert.match(a, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
  assert.notEqual(a, b);
  assert.deepEqual(parsePasswordHash(a)?.params, DEFAULT_ARGON2);
});

test('verifies the right password and refuses a wrong one', async () => {
  const h = await hashPassword('correct horse battery staple');
  assert.equal(await verifyPassword('correct horse battery staple', h), true);
  assert.equal(await verifyPassword('correct horse battery stapl', h), false);
  assert.equal(await verifyPassword('', h), false);
});

test('matches an independent Argon2id computation (same salt and parameters)', async () => {
  const h = await hashPassword('interop check', { memory: 8192, passes: 1, parallelism: 1 });
  const parsed = parsePasswordHash(h)!;
  const tag = argon2Sync('argon2id', { message: 'interop check', nonce: parsed.salt, parallelism: 1, tagLength: 32, memory: 8192, passes: 1 });
  assert.deepEqual(parsed.tag, tag);
});

test('refuses malformed, foreign and out-of-bounds hashes without throwing', async () => {
  const h = await hashPassword('pw', { memory: 8192, passes: 1, parallelism: 1 });
  const bad = [
    '',
    'plaintext',
    h.replace('argon2id', 'argon2i'),
    h.replace('v=19', 'v=16'),
    h.replace('m=8192', 'm=99999999'), // a tampered row must not make the server allocate gigabytes
    h.replace('m=8192', 'm=1024'), // nor weaken the check below the floor
    h.replace('t=1', 't=0'),
    h.replace('p=1', 'p=64'),
    h.slice(0, -5),
  ];
  for (const phc of bad) assert.equal(await verifyPassword('pw', phc), false, phc);
});

test('needsRehash when stored parameters are below the current ones', async () => {
  const weak = await hashPassword('pw', { memory: 8192, passes: 1, parallelism: 1 });
  assert.equal(needsRehash(weak), true);
  assert.equal(needsRehash(await hashPassword('pw')), false);
  assert.equal(needsRehash('garbage'), true);
});
