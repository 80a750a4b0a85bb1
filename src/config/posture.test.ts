import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from './load.ts';
import { postureChecks, type PostureCheck } from './posture.ts';
import { masterKeyWeakness, secretWeakness } from './secret-strength.ts';

const STRONG_KEY = randomBytes(32).toString('base64');
const PROD = { GATEHOUSE_ENV: 'production', GATEHOUSE_MASTER_KEY: STRONG_KEY };

function failsOf(env: Record<string, string>): PostureCheck[] {
  return postureChecks(loadConfig(env)).filter((c) => c.status === 'fail');
}

test('a strong production configuration on loopback passes every check', () => {
  assert.deepEqual(failsOf(PROD), []);
  assert.ok(postureChecks(loadConfig(PROD)).every((c) => c.status === 'pass'));
});

test('production refuses a missing, short, default or patterned master key, naming the setting', () => {
  for (const masterKey of [undefined, randomBytes(16).toString('base64'), Buffer.alloc(32).toString('base64'), Buffer.alloc(32, 7).toString('base64'), 'changeme']) {
    const env: Record<string, string> = { GATEHOUSE_ENV: 'production' };
    if (masterKey !== undefined) env.GATEHOUSE_MASTER_KEY = masterKey;
    const fails = failsOf(env);
    assert.equal(fails.length, 1, String(masterKey));
    assert.equal(fails[0]?.setting, 'GATEHOUSE_MASTER_KEY');
    assert.ok(fails[0].message.includes('GATEHOUSE_MASTER_KEY'));
    if (masterKey !== undefined) assert.ok(!JSON.stringify(fails).includes(masterKey), 'the value is never echoed');
  }
  assert.equal(masterKeyWeakness(STRONG_KEY), undefined);
});

test('an empty environment variable counts as missing in production', () => {
  const fails = failsOf({ GATEHOUSE_ENV: 'production', GATEHOUSE_MASTER_KEY: '' });
  assert.deepEqual(
    fails.map((f) => f.setting),
    ['GATEHOUSE_MASTER_KEY'],
  );
});

test('a weak database password is refused in production, a generated one passes', () => {
  const weak = failsOf({ ...PROD, GATEHOUSE_DATABASE_URL: 'postgres://gatehouse:postgres@db.internal/gatehouse' });
  assert.deepEqual(
    weak.map((f) => f.setting),
    ['GATEHOUSE_DATABASE_URL'],
  );
  assert.ok(!JSON.stringify(weak).includes('postgres@'), 'the URL is never echoed');
  assert.deepEqual(failsOf({ ...PROD, GATEHOUSE_DATABASE_URL: 'postgres://u:short1@db/x' })[0]?.message.includes('too short'), true);
  assert.deepEqual(failsOf({ ...PROD, GATEHOUSE_DATABASE_URL: `postgres://u:${randomBytes(18).toString('base64url')}@db/x` }), []);
  assert.deepEqual(failsOf({ ...PROD, GATEHOUSE_DATABASE_URL: 'postgres://u@db/x' }), []);
});

test('a non-loopback bind needs TLS or a declared trusted proxy in production', () => {
  const open = failsOf({ ...PROD, GATEHOUSE_HOST: '0.0.0.0' });
  assert.deepEqual(
    open.map((f) => f.setting),
    ['GATEHOUSE_HOST'],
  );
  assert.match(open[0]?.message ?? '', /GATEHOUSE_TLS_CERT/);
  assert.deepEqual(failsOf({ ...PROD, GATEHOUSE_HOST: '0.0.0.0', GATEHOUSE_TRUSTED_PROXIES: '10.0.0.0/8', GATEHOUSE_PUBLIC_URL: 'https://gw.example.com' }), []);
  // Behind a proxy without an https public URL: a warning, not a refusal.
  const warned = postureChecks(loadConfig({ ...PROD, GATEHOUSE_HOST: '0.0.0.0', GATEHOUSE_TRUSTED_PROXIES: '10.0.0.0/8' }));
  assert.ok(warned.some((c) => c.status === 'warn' && c.setting === 'GATEHOUSE_PUBLIC_URL'));
  // Development warns about the same bind instead of refusing.
  const dev = postureChecks(loadConfig({ GATEHOUSE_HOST: '0.0.0.0' }));
  assert.ok(dev.some((c) => c.status === 'warn' && c.setting === 'GATEHOUSE_HOST'));
  assert.ok(dev.every((c) => c.status !== 'fail'));
});

test('debug and trace logging are refused in production only', () => {
  for (const level of ['debug', 'trace']) {
    assert.deepEqual(
      failsOf({ ...PROD, GATEHOUSE_LOG_LEVEL: level }).map((f) => f.setting),
      ['GATEHOUSE_LOG_LEVEL'],
    );
    assert.deepEqual(failsOf({ GATEHOUSE_LOG_LEVEL: level }), []);
  }
});

test('TLS files are checked: unreadable, group-readable key, expired certificate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-posture-'));
  try {
    const key = join(dir, 'key.pem');
    writeFileSync(key, 'not a key', { mode: 0o644 });
    const fails = failsOf({ ...PROD, GATEHOUSE_HOST: '0.0.0.0', GATEHOUSE_TLS_CERT: join(dir, 'missing.pem'), GATEHOUSE_TLS_KEY: key });
    assert.deepEqual(fails.map((f) => f.setting).sort(), ['GATEHOUSE_TLS_CERT', 'GATEHOUSE_TLS_KEY']);
    assert.throws(() => loadConfig({ GATEHOUSE_TLS_CERT: key }), /GATEHOUSE_TLS_CERT and GATEHOUSE_TLS_KEY go together/);
    assert.throws(() => loadConfig({ GATEHOUSE_TLS_CERT: key, GATEHOUSE_TLS_KEY: key, GATEHOUSE_TLS_MIN_VERSION: 'TLSv1.1' }), /tlsMinVersion/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('secret strength: empty, default, short and patterned secrets are named, a generated one passes', () => {
  assert.match(secretWeakness('', 16) ?? '', /missing or empty/);
  assert.match(secretWeakness('ChangeMe', 16) ?? '', /default/);
  assert.match(secretWeakness('abc123', 16) ?? '', /too short/);
  assert.match(secretWeakness('abababababababababababab', 16) ?? '', /entropy/);
  assert.equal(secretWeakness(randomBytes(24).toString('base64url'), 16), undefined);
});

test('a config file takes @env: references; one to an unset or empty variable is refused, naming the setting', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-config-'));
  try {
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ masterKey: '@env:GH_TEST_MASTER', trustedProxies: '@env:GH_TEST_PROXIES' }), { mode: 0o644 });
    const c = loadConfig({ GATEHOUSE_CONFIG: file, GH_TEST_MASTER: STRONG_KEY, GH_TEST_PROXIES: '10.0.0.0/8, ::1' });
    assert.equal(c.masterKey?.reveal(), STRONG_KEY);
    assert.deepEqual(c.trustedProxies, ['10.0.0.0/8', '::1']);
    assert.throws(() => loadConfig({ GATEHOUSE_CONFIG: file, GH_TEST_MASTER: '', GH_TEST_PROXIES: '::1' }), /masterKey refers to @env:GH_TEST_MASTER, which is empty/);
    assert.throws(() => loadConfig({ GATEHOUSE_CONFIG: file, GH_TEST_PROXIES: '::1' }), /masterKey refers to @env:GH_TEST_MASTER, which is not set/);
    // A literal secret in a file others can read is still refused.
    writeFileSync(file, JSON.stringify({ masterKey: STRONG_KEY }), { mode: 0o644 });
    assert.throws(() => loadConfig({ GATEHOUSE_CONFIG: file }), /chmod 600/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
