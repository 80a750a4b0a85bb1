import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SecretBox } from './secret-box.ts';
import { MasterKey } from './master-key.ts';

test('a sealed secret opens only with its key and its binding', () => {
  const box = new SecretBox(randomBytes(32));
  const sealed = box.seal('s3cret-value', 'org_1/con_1/header/Authorization');
  assert.ok(!sealed.includes('s3cret'));
  assert.equal(box.open(sealed, 'org_1/con_1/header/Authorization'), 's3cret-value');
  assert.throws(() => box.open(sealed, 'org_2/con_1/header/Authorization'), /failed authentication/);
  assert.throws(() => new SecretBox(randomBytes(32)).open(sealed, 'org_1/con_1/header/Authorization'), /failed authentication/);
});

test('a tampered ciphertext is refused', () => {
  const box = new SecretBox(randomBytes(32));
  const parts = box.seal('value', 'x').split('.');
  const ct = Buffer.from(parts[2]!, 'base64url');
  ct[0] = (ct[0] ?? 0) ^ 1;
  parts[2] = ct.toString('base64url');
  assert.throws(() => box.open(parts.join('.'), 'x'), /failed authentication/);
  assert.throws(() => box.open('v0.a.b.c', 'x'), /Unreadable/);
});

test('two seals of one value differ (random IV)', () => {
  const box = new SecretBox(randomBytes(32));
  assert.notEqual(box.seal('same', 'x'), box.seal('same', 'x'));
});

test('the master key file is created owner-only and reused; a group-readable one is refused', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gh-mk-'));
  const a = MasterKey.load({ dataDir, masterKey: undefined });
  assert.equal(statSync(join(dataDir, 'master.key')).mode & 0o777, 0o600);
  const b = MasterKey.load({ dataDir, masterKey: undefined });
  assert.deepEqual(a.derive('x'), b.derive('x'));
  assert.notDeepEqual(a.derive('x'), a.derive('y'));
  chmodSync(join(dataDir, 'master.key'), 0o644);
  assert.throws(() => MasterKey.load({ dataDir, masterKey: undefined }), /owner only/);
  const other = mkdtempSync(join(tmpdir(), 'gh-mk-'));
  writeFileSync(join(other, 'master.key'), 'short', { mode: 0o600 });
  assert.throws(() => MasterKey.load({ dataDir: other, masterKey: undefined }), /32-byte/);
});
