// The operator's local commands against a real gateway's data directory, run as the real CLI: `doctor` prints each
// check with its verdict and what to change and exits 1 on a fail; `config show` masks secrets; `support-bundle`
// writes configuration, versions, doctor output and logs with no secret from the data directory or the environment.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, startGateway, type Gateway } from './harness.ts';

describe('doctor, config show and support-bundle', () => {
  let gw: Gateway;

  before(async () => {
    gw = await startGateway({ GATEHOUSE_LOG_LEVEL: 'info' });
  });
  after(async () => {
    await gw.close();
    rmSync(gw.dataDir, { recursive: true, force: true });
  });

  test('doctor prints every check with pass/warn/fail and what to change, and exits 1 on a fail', async () => {
    const dev = await runCli(gw, ['doctor', '--json']);
    const report = JSON.parse(dev.stdout) as { ok: boolean; checks: { id: string; status: string; setting: string; fix?: string }[] };
    assert.equal(dev.code, report.ok ? 0 : 1, 'the exit status follows the verdict');
    for (const id of ['master-key', 'bind', 'log-level', 'stdio-sandbox', 'store']) assert.ok(report.checks.some((c) => c.id === id), id);
    assert.ok(report.checks.find((c) => c.id === 'store')?.status === 'pass', 'the store was found and opened');

    const prod = await runCli(gw, ['doctor'], { GATEHOUSE_ENV: 'production', GATEHOUSE_LOG_LEVEL: 'debug', GATEHOUSE_HOST: '0.0.0.0' });
    assert.equal(prod.code, 1, prod.stdout + prod.stderr);
    assert.match(prod.stdout, /^FAIL {2}master-key .*GATEHOUSE_MASTER_KEY is not set/m);
    assert.match(prod.stdout, /^FAIL {2}log-level .*GATEHOUSE_LOG_LEVEL=debug/m);
    assert.match(prod.stdout, /^FAIL {2}bind .*GATEHOUSE_HOST=0\.0\.0\.0/m);
    assert.match(prod.stdout, /-> set GATEHOUSE_TLS_CERT and GATEHOUSE_TLS_KEY/);
    assert.match(prod.stdout, /^production: \d+ fail/m);
  });

  test('config show prints the effective configuration with secrets masked', async () => {
    const masterKey = randomBytes(32).toString('base64');
    const password = randomBytes(18).toString('base64url');
    const shown = await runCli(gw, ['config', 'show'], { GATEHOUSE_MASTER_KEY: masterKey, GATEHOUSE_DATABASE_URL: `postgres://gatehouse:${password}@db.internal:5432/gatehouse` });
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /^GATEHOUSE_MASTER_KEY +"\*{8}" +\(environment\)$/m);
    assert.match(shown.stdout, /^GATEHOUSE_DATABASE_URL +"postgres:\/\/gatehouse:\*{8}@db\.internal:5432\/gatehouse" +\(environment\)$/m);
    assert.match(shown.stdout, /^GATEHOUSE_PORT +\d+ +\(environment\)$/m);
    assert.match(shown.stdout, /^GATEHOUSE_TLS_MIN_VERSION +"TLSv1\.3" +\(default\)$/m);
    assert.ok(!shown.stdout.includes(masterKey) && !shown.stdout.includes(password));
    const json = await runCli(gw, ['config', 'show', '--json'], { GATEHOUSE_MASTER_KEY: masterKey });
    assert.equal((JSON.parse(json.stdout) as Record<string, unknown>).masterKey, '********');
  });

  test('the support bundle holds configuration, versions, doctor output and logs, and no secret', async () => {
    const envSecrets = {
      ACME_API_TOKEN: randomBytes(24).toString('base64url'),
      UPSTREAM_PASSWORD: randomBytes(12).toString('hex'),
      GATEHOUSE_DATABASE_URL: `postgres://gatehouse:${randomBytes(18).toString('base64url')}@127.0.0.1:1/gatehouse`,
    };
    const dbPassword = new URL(envSecrets.GATEHOUSE_DATABASE_URL).password;
    // What the data directory holds besides the database: the master key file, read here to be looked for below.
    // (connector-health.json, the running gateway's health snapshot, is no secret.)
    const dataSecrets = readdirSync(gw.dataDir)
      .filter((f) => f !== 'connector-health.json')
      .map((f) => join(gw.dataDir, f))
      .filter((p) => statSync(p).isFile() && !p.includes('.db'))
      .map((p) => readFileSync(p, 'utf8').trim());
    const masterKey = readFileSync(join(gw.dataDir, 'master.key'), 'utf8').trim();
    assert.ok(dataSecrets.includes(masterKey), 'the data directory holds the key file');

    // A log as an operator would hand it over: the gateway's own lines, and lines where secrets leaked.
    const log = join(gw.dataDir, '..', `gatehouse-log-${randomBytes(4).toString('hex')}.jsonl`);
    const leaks = [
      JSON.stringify({ level: 30, msg: 'upstream call', headers: { authorization: `Bearer ${gw.ownerKey}` } }),
      `a careless line with the owner key ${gw.ownerKey} and the master key ${masterKey}`,
      `connecting to ${envSecrets.GATEHOUSE_DATABASE_URL}`,
      `token=${envSecrets.ACME_API_TOKEN} password ${envSecrets.UPSTREAM_PASSWORD}`,
      JSON.stringify({ msg: 'sign-in', password: 'correct horse battery staple' }),
      `hex of the key ${Buffer.from(masterKey, 'base64').toString('hex')}`,
    ];
    writeFileSync(log, [...gw.logs, ...leaks].join('\n') + '\n');
    const bundlePath = join(gw.dataDir, '..', `bundle-${randomBytes(4).toString('hex')}.json`);
    try {
      const made = await runCli(gw, ['support-bundle', '--out', bundlePath, '--log', log], envSecrets);
      assert.equal(made.code, 0, made.stderr);
      assert.equal(statSync(bundlePath).mode & 0o777, 0o600);
      const text = readFileSync(bundlePath, 'utf8');
      const bundle = JSON.parse(text) as {
        versions: { gatehouse: string; node: string; dependencies: Record<string, string> };
        configuration: { setting: string; value: unknown }[];
        doctor: { text: string };
        logs: { lines: string[] }[];
      };
      assert.match(bundle.versions.gatehouse, /^\d+\.\d+\.\d+/);
      assert.equal(bundle.versions.node, process.version);
      assert.ok('zod' in bundle.versions.dependencies);
      assert.ok(bundle.configuration.some((c) => c.setting === 'port'));
      assert.match(bundle.doctor.text, /(PASS|WARN|FAIL) {2}master-key/);
      assert.equal(bundle.logs[0]?.lines.length, gw.logs.length + leaks.length);
      assert.ok(bundle.logs[0].lines.some((l) => l.includes('"request"') || l.includes('gatehouse')));

      const secrets = [gw.ownerKey, masterKey, Buffer.from(masterKey, 'base64').toString('hex'), dbPassword, 'correct horse battery staple', ...Object.values(envSecrets), ...dataSecrets];
      for (const [i, s] of secrets.entries()) assert.ok(!text.includes(s), `a secret of ${s.length} characters (#${String(i)}) is in the bundle`);
      assert.ok(text.includes('[redacted]'));
      // An existing file is never overwritten.
      const again = await runCli(gw, ['support-bundle', '--out', bundlePath]);
      assert.notEqual(again.code, 0);
    } finally {
      rmSync(log, { force: true });
      rmSync(bundlePath, { force: true });
    }
  });
});
