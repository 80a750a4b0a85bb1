import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../config/load.ts';
import { createEgress } from '../../../egress/egress.ts';
import { configuredSinks, createSinks } from './siem.ts';
import { parseSyslogUrl } from './syslog.ts';

const SECRET = 's'.repeat(40);
const egress = createEgress({ allowPlainHttp: false, allowCidrs: [] }, () => Promise.resolve(['203.0.113.9']));

test('a syslog URL is tls://host[:port]; anything else is refused', () => {
  assert.deepEqual(parseSyslogUrl('tls://siem.example.com'), { host: 'siem.example.com', port: 6514 });
  assert.deepEqual(parseSyslogUrl('tls://[2001:db8::1]:1514'), { host: '2001:db8::1', port: 1514 });
  for (const bad of ['tcp://siem.example.com:514', 'udp://siem.example.com', 'tls://user:pw@siem.example.com', 'tls://siem.example.com/path', 'siem.example.com:6514']) {
    assert.throws(() => parseSyslogUrl(bad), /tls:\/\/host/, bad);
  }
});

test('sinks to private or loopback addresses are refused at start unless the operator allows them', () => {
  const config = loadConfig({ GATEHOUSE_SIEM_SYSLOG_URL: 'tls://127.0.0.1:6514' });
  assert.throws(() => createSinks(config, egress), /siemSyslogUrl: Destination refused: the address is loopback/);
  const hook = loadConfig({ GATEHOUSE_SIEM_WEBHOOK_URL: 'https://169.254.169.254/hook', GATEHOUSE_SIEM_WEBHOOK_SECRET: SECRET });
  assert.throws(() => createSinks(hook, egress), /siemWebhookUrl: Destination refused: the address is link-local/);
  const plain = loadConfig({ GATEHOUSE_SIEM_OTLP_URL: 'http://collector.example.com:4318' });
  assert.throws(() => createSinks(plain, egress), /siemOtlpUrl: Destination refused: plain http/);
  const allowed = createEgress({ allowPlainHttp: true, allowCidrs: ['127.0.0.0/8'] });
  const sinks = createSinks(loadConfig({ GATEHOUSE_SIEM_OTLP_URL: 'http://127.0.0.1:4318' }), allowed);
  assert.deepEqual(sinks.map((s) => [s.name, s.target]), [['otlp', 'http://127.0.0.1:4318/v1/logs']]);
});

test('a webhook needs its secret, and secrets never appear in errors, status or the frozen config', () => {
  assert.throws(() => loadConfig({ GATEHOUSE_SIEM_WEBHOOK_URL: 'https://siem.example.com/hook' }), /GATEHOUSE_SIEM_WEBHOOK_SECRET is required/);
  assert.throws(() => loadConfig({ GATEHOUSE_SIEM_WEBHOOK_URL: 'https://siem.example.com/hook', GATEHOUSE_SIEM_WEBHOOK_SECRET: 'short-secret' }), (err: Error) => {
    assert.match(err.message, /siemWebhookSecret: invalid/);
    assert.doesNotMatch(err.message, /short-secret/);
    return true;
  });
  const config = loadConfig({ GATEHOUSE_SIEM_WEBHOOK_URL: 'https://siem.example.com/hook', GATEHOUSE_SIEM_WEBHOOK_SECRET: SECRET, GATEHOUSE_SIEM_OTLP_URL: 'https://otel.example.com', GATEHOUSE_SIEM_OTLP_HEADERS: 'authorization=Bearer%20tok' });
  assert.doesNotMatch(JSON.stringify(config), new RegExp(`${SECRET}|tok`));
  assert.deepEqual(configuredSinks(config), ['webhook', 'otlp']);
  const sinks = createSinks(config, egress);
  assert.doesNotMatch(JSON.stringify(sinks.map((s) => s.target)), new RegExp(`${SECRET}|tok`));
});

test('a secret written @env:VAR is read from that variable; an unset one is named, not guessed', () => {
  const config = loadConfig({ GATEHOUSE_SIEM_WEBHOOK_URL: 'https://siem.example.com/hook', GATEHOUSE_SIEM_WEBHOOK_SECRET: '@env:HOOK_SECRET', HOOK_SECRET: SECRET });
  assert.equal(config.siemWebhookSecret?.reveal(), SECRET);
  assert.throws(() => loadConfig({ GATEHOUSE_SIEM_WEBHOOK_URL: 'https://siem.example.com/hook', GATEHOUSE_SIEM_WEBHOOK_SECRET: '@env:MISSING_SECRET' }), /siemWebhookSecret: the variable it names \(MISSING_SECRET\) is not set/);
});

test('a config file that writes a SIEM secret out must be the owner\'s alone; one that names a variable need not be', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-siem-config-'));
  try {
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ siemWebhookUrl: 'https://siem.example.com/hook', siemWebhookSecret: SECRET }));
    chmodSync(file, 0o644);
    assert.throws(() => loadConfig({ GATEHOUSE_CONFIG: file }), /holds a secret and must not be readable by group or others/);
    chmodSync(file, 0o600);
    assert.equal(loadConfig({ GATEHOUSE_CONFIG: file }).siemWebhookSecret?.reveal(), SECRET);
    writeFileSync(file, JSON.stringify({ siemWebhookUrl: 'https://siem.example.com/hook', siemWebhookSecret: '@env:HOOK_SECRET' }));
    chmodSync(file, 0o644);
    assert.equal(loadConfig({ GATEHOUSE_CONFIG: file, HOOK_SECRET: SECRET }).siemWebhookSecret?.reveal(), SECRET);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
