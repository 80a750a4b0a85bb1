import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { checkPosture, loadConfig } from './load.ts';

test('defaults are the embedded, loopback ones', () => {
  const c = loadConfig({});
  assert.equal(c.host, '127.0.0.1');
  assert.equal(c.port, 8080);
  assert.equal(c.dataDir, './data');
  assert.equal(c.databaseUrl, undefined);
  assert.ok(Object.isFrozen(c));
});

test('environment overrides are validated and named without echoing secrets', () => {
  const c = loadConfig({ GATEHOUSE_PORT: '9000', GATEHOUSE_ALLOWED_ORIGINS: 'https://a.example, https://b.example' });
  assert.equal(c.port, 9000);
  assert.deepEqual(c.allowedOrigins, ['https://a.example', 'https://b.example']);
  assert.throws(() => loadConfig({ GATEHOUSE_PORT: 'eighty' }), /port/);
  assert.throws(
    () => loadConfig({ GATEHOUSE_DATABASE_URL: 'mysql://user:pa55word@db/x' }),
    (e: Error) => /databaseUrl: invalid/.test(e.message) && !e.message.includes('pa55word'),
  );
});

test('a database URL is held as a secret that does not print', () => {
  const c = loadConfig({ GATEHOUSE_DATABASE_URL: 'postgres://u:pa55word@127.0.0.1/db' });
  assert.ok(!JSON.stringify(c).includes('pa55word'));
  assert.ok(!inspect(c).includes('pa55word'));
  assert.equal(c.databaseUrl?.reveal(), 'postgres://u:pa55word@127.0.0.1/db');
});

test('production refuses weak settings', () => {
  assert.deepEqual(checkPosture(loadConfig({})), []);
  const problems = checkPosture(loadConfig({ GATEHOUSE_ENV: 'production', GATEHOUSE_HOST: '0.0.0.0' }));
  assert.ok(problems.some((p) => p.includes('GATEHOUSE_MASTER_KEY')));
  assert.ok(problems.some((p) => p.includes('GATEHOUSE_TLS_CERT') && p.includes('GATEHOUSE_TRUSTED_PROXIES')));
  assert.ok(checkPosture(loadConfig({ GATEHOUSE_ALLOWED_ORIGINS: '*' })).length > 0);
});

test('trusted proxies are a list of CIDRs; anything else is refused at start-up', () => {
  assert.deepEqual(loadConfig({}).trustedProxies, []);
  assert.deepEqual(loadConfig({ GATEHOUSE_TRUSTED_PROXIES: '10.0.0.0/8, ::1' }).trustedProxies, ['10.0.0.0/8', '::1']);
  assert.throws(() => loadConfig({ GATEHOUSE_TRUSTED_PROXIES: '10.0.0.0/8,proxy.internal' }), /trustedProxies\.1: each entry must be a CIDR/);
});

test('egress is strict by default; the operator allowances are parsed and validated', () => {
  const d = loadConfig({});
  assert.equal(d.allowPlainHttpUpstreams, false);
  assert.deepEqual(d.egressAllowCidrs, []);
  const c = loadConfig({ GATEHOUSE_ALLOW_PLAIN_HTTP_UPSTREAMS: 'true', GATEHOUSE_EGRESS_ALLOW_CIDRS: '127.0.0.0/8, ::1/128' });
  assert.equal(c.allowPlainHttpUpstreams, true);
  assert.deepEqual(c.egressAllowCidrs, ['127.0.0.0/8', '::1/128']);
  assert.equal(loadConfig({ GATEHOUSE_ALLOW_PLAIN_HTTP_UPSTREAMS: 'false' }).allowPlainHttpUpstreams, false);
  assert.throws(() => loadConfig({ GATEHOUSE_ALLOW_PLAIN_HTTP_UPSTREAMS: 'yes please' }), /allowPlainHttpUpstreams/);
  assert.throws(() => loadConfig({ GATEHOUSE_EGRESS_ALLOW_CIDRS: '10.0.0.0/33' }), /egressAllowCidrs/);
});
