import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileAllowlist, normalizeAddress, normalizeCidr, rangeWithin } from './cidr.ts';

test('CIDRs are read in their canonical form; what is not one is refused', () => {
  assert.equal(normalizeCidr('10.0.0.0/8'), '10.0.0.0/8');
  assert.equal(normalizeCidr(' 10.1.2.3/8 '), '10.0.0.0/8');
  assert.equal(normalizeCidr('192.0.2.7'), '192.0.2.7/32');
  assert.equal(normalizeCidr('::1'), '::1/128');
  assert.equal(normalizeCidr('2001:DB8:0:0::1/32'), '2001:db8::/32');
  assert.equal(normalizeCidr('::ffff:10.0.0.0/104'), '10.0.0.0/8', 'a mapped range is the IPv4 range');
  assert.equal(normalizeCidr('0.0.0.0/0'), '0.0.0.0/0');
  for (const bad of ['', '10.0.0.0/33', '::/129', '10.0.0.0/-1', '10.0.0.0/', 'example.com', '0x7f.1/8', '10.0.0/8', '10.0.0.0/8/8', 'fe80::1%eth0/64', '1.2.3.4/ 8']) {
    assert.equal(normalizeCidr(bad), undefined, bad);
  }
});

test('addresses are normalised, IPv4-mapped IPv6 to IPv4', () => {
  assert.equal(normalizeAddress('::ffff:10.0.0.1'), '10.0.0.1');
  assert.equal(normalizeAddress('::FFFF:127.0.0.1'), '127.0.0.1');
  assert.equal(normalizeAddress('0:0:0:0:0:0:0:1'), '::1');
  assert.equal(normalizeAddress('fe80::1%eth0'), 'fe80::1');
  assert.equal(normalizeAddress('127.1'), undefined, 'not four-part decimal');
  assert.equal(normalizeAddress('localhost'), undefined);
});

test('an allowlist matches IPv4, IPv6 and IPv4-mapped addresses, and nothing of the other family', () => {
  const list = compileAllowlist(['10.0.0.0/8', '2001:db8::/32', '::1/128']);
  assert.ok(list.allows('10.200.3.4'));
  assert.ok(list.allows('::ffff:10.0.0.1'), 'a mapped address matches the IPv4 range');
  assert.ok(list.allows('2001:db8:1::7'));
  assert.ok(list.allows('::1'));
  assert.equal(list.allows('11.0.0.1'), false);
  assert.equal(list.allows('::ffff:11.0.0.1'), false);
  assert.equal(list.allows('127.0.0.1'), false, '::1 does not allow IPv4 loopback');
  assert.equal(list.allows('2001:db9::1'), false);
  assert.equal(list.allows('::ffff:a00:1'), true, 'the hex form of the mapped address too');
  assert.equal(list.allows('::a00:1'), false, 'an IPv4-compatible (not mapped) address is IPv6');
  const mapped = compileAllowlist(['::ffff:192.168.0.0/112']);
  assert.ok(mapped.allows('192.168.4.4'), 'a mapped range matches the plain IPv4 address');
  assert.equal(mapped.allows('192.169.0.1'), false);
});

test('an allowlist refuses what it cannot read, and an empty list refuses everything', () => {
  const list = compileAllowlist(['0.0.0.0/0', '::/0']);
  assert.ok(list.allows('203.0.113.9') && list.allows('2001:db8::1'));
  for (const ip of [null, undefined, '', 'garbage', '10.0.0.1, 10.0.0.2']) assert.equal(list.allows(ip), false, String(ip));
  assert.equal(compileAllowlist([]).allows('127.0.0.1'), false);
});

test('a range is within another when all its addresses are', () => {
  assert.equal(rangeWithin('10.1.0.0/16', '10.0.0.0/8'), true);
  assert.equal(rangeWithin('10.1.2.3', '10.0.0.0/8'), true);
  assert.equal(rangeWithin('10.0.0.0/8', '10.0.0.0/8'), true);
  assert.equal(rangeWithin('10.0.0.0/7', '10.0.0.0/8'), false);
  assert.equal(rangeWithin('11.0.0.0/16', '10.0.0.0/8'), false);
  assert.equal(rangeWithin('::ffff:10.1.0.0/112', '10.0.0.0/8'), true);
  assert.equal(rangeWithin('2001:db8::/48', '2001:db8::/32'), true);
  assert.equal(rangeWithin('2001:db8::/48', '10.0.0.0/8'), false);
  assert.equal(rangeWithin('not a cidr', '0.0.0.0/0'), false);
});
