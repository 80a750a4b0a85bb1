/* eslint-disable no-control-regex -- the hostile text under test is control characters */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import type { AuditRecord } from '../../../store/types.ts';
import { sealerFor } from '../chain.ts';
import { auditEvent } from '../event.ts';
import { asciiJson, octetFrame, otlpBody, SD_ID, sdValue, syslogMessage, webhookBody } from './format.ts';
import { parseOtlpHeaders, webhookSignature } from './http-sinks.ts';

const HOSTILE = 'x\r\n<13>1 - forged - - - - ]"\\ \u001b[2J\u0085\u009b\u2028\u202e é 𝄞 {"seq":999}';

function record(overrides: Partial<Parameters<typeof auditEvent>[0]> = {}): AuditRecord {
  return sealerFor(auditEvent({ orgId: 'org_1', action: 'mcp.tools/call', decision: 'deny', target: HOSTILE, args: JSON.stringify({ text: HOSTILE }), ...overrides }))(undefined);
}

test('ASCII JSON parses back to exactly the same values, with nothing outside printable ASCII on the wire', () => {
  const r = record();
  const text = asciiJson(r);
  assert.match(text, /^[\x20-\x7e]+$/);
  assert.deepEqual(JSON.parse(text), r);
  assert.ok(text.includes('\\u001b') && text.includes('\\u009b') && text.includes('\\u2028') && text.includes('\\ud834\\udd1e'));
});

test('structured-data values escape the three characters RFC 5424 names and replace control characters', () => {
  assert.equal(sdValue('a"b\\c]d'), 'a\\"b\\\\c\\]d');
  assert.equal(sdValue('l1\r\nl2\u001b[0m\u0085'), 'l1\uFFFD\uFFFDl2\uFFFD[0m\uFFFD');
  assert.equal(sdValue('é 𝄞'), 'é 𝄞');
});

test('a syslog message is one RFC 5424 line whose hostile fields stay inside their quoted values', () => {
  const r = record();
  const msg = syslogMessage(r, 42);
  // PRI: facility 13 (log audit) * 8 + severity 5 (notice, for a deny).
  assert.ok(msg.startsWith(`<109>1 ${r.ts} `), msg.slice(0, 40));
  assert.doesNotMatch(msg, /[\r\n\u001b\u0085\u009b]/);
  const m = /^<\d+>1 \S+ \S+ gatehouse 42 audit \[(\S+)((?: [a-zA-Z]+="(?:[^"\\\]]|\\["\\\]])*")*)\] (.*)$/su.exec(msg);
  assert.ok(m, 'the header, one SD element and MSG parse');
  assert.equal(m[1], SD_ID);
  const params = new Map([...(m[2] ?? '').matchAll(/ ([a-zA-Z]+)="((?:[^"\\\]]|\\["\\\]])*)"/gu)].map((p) => [p[1], (p[2] ?? '').replace(/\\(["\\\]])/g, '$1')]));
  assert.equal(params.get('seq'), '1');
  assert.equal(params.get('chain'), 'org_1');
  assert.equal(params.get('hash'), r.hash);
  assert.equal(params.get('decision'), 'deny');
  assert.equal(params.get('target'), HOSTILE.replace(/[\r\n\u001b\u0085\u009b\u2028]/g, '\uFFFD'));
  assert.deepEqual(JSON.parse(m[3] ?? ''), r);
});

test('octet counting counts bytes, not characters', () => {
  assert.equal(octetFrame('é𝄞'), '6 é𝄞');
  const framed = octetFrame(syslogMessage(record()));
  const space = framed.indexOf(' ');
  assert.equal(Number(framed.slice(0, space)), Buffer.byteLength(framed.slice(space + 1)));
});

test('the webhook body holds one chain in order; its signature is HMAC-SHA-256 of timestamp and body', () => {
  const a = record();
  const b = sealerFor(auditEvent({ orgId: 'org_1', action: 'x', decision: 'allow' }))({ seq: a.seq, hash: a.hash });
  const body = webhookBody('org_1', [a, b]);
  assert.deepEqual(JSON.parse(body), { chain: 'org_1', records: [a, b] });
  const expected = createHmac('sha256', 'k'.repeat(32)).update('1700000000.' + body).digest('hex');
  assert.equal(webhookSignature('k'.repeat(32), '1700000000', body), `sha256=${expected}`);
  assert.notEqual(webhookSignature('k'.repeat(32), '1700000001', body), `sha256=${expected}`, 'the timestamp is signed');
});

test('OTLP logs carry seq, chain and hash as attributes and the record as the body', () => {
  const r = record();
  const parsed = JSON.parse(otlpBody('org_1', [r])) as {
    resourceLogs: { scopeLogs: { logRecords: { timeUnixNano: string; severityNumber: number; body: { stringValue: string }; attributes: { key: string; value: Record<string, string> }[] }[] }[] }[];
  };
  const lr = parsed.resourceLogs[0]?.scopeLogs[0]?.logRecords[0];
  assert.ok(lr);
  assert.equal(lr.timeUnixNano, `${String(Date.parse(r.ts))}000000`);
  assert.equal(lr.severityNumber, 13);
  assert.deepEqual(JSON.parse(lr.body.stringValue), r);
  const attr = new Map(lr.attributes.map((a) => [a.key, a.value]));
  assert.deepEqual(attr.get('gatehouse.audit.seq'), { intValue: '1' });
  assert.deepEqual(attr.get('gatehouse.audit.hash'), { stringValue: r.hash });
});

test('OTLP headers parse as name=value pairs, and malformed ones are refused', () => {
  assert.deepEqual(parseOtlpHeaders('Authorization=Bearer%20abc, x-team=sec'), { authorization: 'Bearer abc', 'x-team': 'sec' });
  assert.throws(() => parseOtlpHeaders('=value'), /name=value/);
  assert.throws(() => parseOtlpHeaders('bad name=x'), /name=value/);
  assert.throws(() => parseOtlpHeaders('x=%0d%0aInjected: 1'), /control characters/);
  assert.throws(() => parseOtlpHeaders('x=%E0%A4%A'), /percent-encoded/);
});
