import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createClientIpResolver } from './client-ip.ts';

test('without trusted proxies X-Forwarded-For is ignored entirely', () => {
  const ip = createClientIpResolver([]);
  assert.equal(ip('203.0.113.5', '10.0.0.1'), '203.0.113.5');
  assert.equal(ip('::ffff:127.0.0.1', '10.0.0.1'), '127.0.0.1', 'the peer is normalised');
  assert.equal(ip('::1', undefined), '::1');
  assert.equal(ip(undefined, '10.0.0.1'), null);
});

test('a client that is not a trusted proxy is not believed (spoofing)', () => {
  const ip = createClientIpResolver(['10.0.0.0/8']);
  assert.equal(ip('203.0.113.5', '10.1.1.1'), '203.0.113.5');
  assert.equal(ip('::ffff:203.0.113.5', '192.0.2.1, 10.0.0.9'), '203.0.113.5');
});

test('behind trusted proxies the client is the rightmost address that is not a trusted proxy', () => {
  const ip = createClientIpResolver(['10.0.0.0/8', '::1/128']);
  assert.equal(ip('10.0.0.2', '198.51.100.7'), '198.51.100.7');
  // The client claimed 1.1.1.1 itself; the first proxy appended what it saw: the claim is not believed.
  assert.equal(ip('10.0.0.2', '1.1.1.1, 198.51.100.7, 10.0.0.3'), '198.51.100.7');
  assert.equal(ip('::1', ['1.1.1.1', '2001:db8::5']), '2001:db8::5', 'repeated headers are one chain');
  assert.equal(ip('::ffff:10.0.0.2', '::ffff:198.51.100.7'), '198.51.100.7', 'mapped addresses in the chain are IPv4');
  assert.equal(ip('10.0.0.2', '10.0.0.5, 10.0.0.3'), '10.0.0.5', 'all trusted: the farthest hop');
  assert.equal(ip('10.0.0.2', ''), '10.0.0.2');
});

test('malformed entries are skipped, ports and brackets are read', () => {
  const ip = createClientIpResolver(['10.0.0.0/8']);
  assert.equal(ip('10.0.0.2', '198.51.100.7, garbage, unknown'), '198.51.100.7');
  assert.equal(ip('10.0.0.2', '198.51.100.7:5555'), '198.51.100.7');
  assert.equal(ip('10.0.0.2', '[2001:db8::9]:443'), '2001:db8::9');
  assert.equal(ip('10.0.0.2', 'garbage'), '10.0.0.2');
  assert.equal(ip('10.0.0.2', '0x7f000001, 127.1'), '10.0.0.2', 'non-canonical IPv4 forms are not addresses');
});
