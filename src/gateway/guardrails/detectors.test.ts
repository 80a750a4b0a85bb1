import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { generateToken, KEY_PREFIX } from '../authn/api-key-format.ts';
import { scanContent } from './content-scan.ts';
import { ibanValid, luhnValid, PII_DETECTORS, SECRET_DETECTORS, shannonEntropy } from './detectors.ts';
import { detect, scanPieces, stripInvisible } from './text-scan.ts';

const ALL = [...SECRET_DETECTORS, ...PII_DETECTORS];
const rules = (text: string): string[] => detect(stripInvisible(text).clean, ALL).map((s) => s.rule);
const BOTH = new Set(['pii', 'secrets'] as const);

test('Luhn: real test card numbers pass, a changed digit fails', () => {
  assert.ok(luhnValid('4111111111111111'));
  assert.ok(luhnValid('5500005555555559'));
  assert.ok(luhnValid('378282246310005'));
  assert.ok(!luhnValid('4111111111111112'));
  assert.ok(!luhnValid('12a4'));
});

test('IBAN: the mod-97 checksum decides, spaces allowed', () => {
  assert.ok(ibanValid('DE89370400440532013000'));
  assert.ok(ibanValid('GB82 WEST 1234 5698 7654 32'));
  assert.ok(!ibanValid('DE89370400440532013001'));
  assert.ok(!ibanValid('XX00'));
});

test('cards are found with spaces or dashes; random digit runs that fail Luhn are not cards', () => {
  assert.deepEqual(rules('pay with 4111 1111 1111 1111 today'), ['pii.card']);
  assert.deepEqual(rules('pay with 4111-1111-1111-1111'), ['pii.card']);
  assert.deepEqual(rules('order 4111111111111112 shipped'), []);
  assert.deepEqual(rules('the id is 1234567890123'), []);
  // A Luhn-valid number without a card prefix (starts with 1) is not a card either.
  assert.ok(luhnValid('1000000000000008'));
  assert.deepEqual(rules('ref 1000000000000008'), []);
});

test('IBANs, SSNs, emails and phone numbers; dates, versions and addresses are not', () => {
  assert.deepEqual(rules('IBAN DE89 3704 0044 0532 0130 00 please'), ['pii.iban']);
  assert.deepEqual(rules('IBAN DE89 3704 0044 0532 0130 01 please'), []);
  assert.deepEqual(rules('ssn 123-45-6789'), ['pii.ssn']);
  assert.deepEqual(rules('ssn 000-45-6789 or 666-12-3456'), []);
  assert.deepEqual(rules('mail alice.smith+tag@example.co.uk now'), ['pii.email']);
  assert.deepEqual(rules('call +1 415 555 2671 or (415) 555-2671'), ['pii.phone', 'pii.phone']);
  assert.deepEqual(rules('call +14155552671'), ['pii.phone']);
  assert.deepEqual(rules('on 2024-01-15 version 1.2.3 from 192.168.100.200'), []);
});

test('secrets: cloud and SaaS token formats, private keys, JWTs and Gatehouse keys', () => {
  assert.deepEqual(rules('key AKIAIOSFODNN7EXAMPLE'), ['secret.aws_access_key']);
  assert.deepEqual(rules(`token ghp_${'a1B2c3D4e5'.repeat(4)}`), ['secret.github_token']);
  assert.deepEqual(rules('glpat-abcdefghij0123456789'), ['secret.gitlab_token']);
  assert.deepEqual(rules('xoxb-123456789012-abcdefABCDEF'), ['secret.slack_token']);
  assert.deepEqual(rules(['sk', 'live', '4eC39HqLyjWDarjtT1zdp7dc'].join('_')), ['secret.stripe_key']);
  assert.deepEqual(rules('sk-proj-abcdefghijklmnopqrstuvwxyz012345'), ['secret.openai_key']);
  assert.deepEqual(rules(['AIza', 'SyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW'].join('')), ['secret.google_api_key']);
  assert.deepEqual(rules('-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----'), ['secret.private_key']);
  const jwt = `${Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url')}.${Buffer.from('{"sub":"1234567890"}').toString('base64url')}.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c`;
  assert.deepEqual(rules(`Bearer ${jwt}`), ['secret.jwt']);
  assert.deepEqual(rules(`key ${generateToken(KEY_PREFIX)}`), ['secret.gatehouse_key']);
  assert.deepEqual(rules(`scim ${generateToken('gths_')}`), ['secret.gatehouse_key']);
});

test('high entropy: a random key is a secret; hashes, UUIDs and words are not', () => {
  // Fixed (a random draw could, rarely, lack a digit): 30 random bytes in base64.
  const random = 'q8Zf3Kp0Lw9XbN2Vr7Ty5Hs1Dm6Gc4JaUe0IoPk+Rz/E';
  assert.ok(shannonEntropy(random) >= 4.5);
  assert.deepEqual(rules(`secret=${random}`), ['secret.high_entropy']);
  assert.deepEqual(rules('sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'), []);
  assert.deepEqual(rules('id 123e4567-e89b-12d3-a456-426614174000'), []);
  assert.deepEqual(rules('internationalization_and_localization_frameworks'), []);
});

test('invisible characters inside a value do not hide it, and redaction removes them with it', () => {
  const hidden = 'mail al\u200Bice@exa\u200Dmple.com and key AKIA\u2060IOSFODNN7EXAMPLE';
  assert.deepEqual(rules(hidden), ['pii.email', 'secret.aws_access_key']);
  const r = scanPieces([{ where: 'x', text: hidden }], ALL, BOTH);
  assert.equal(r.redacted?.[0], 'mail [REDACTED:pii.email] and key [REDACTED:secret.aws_access_key]');
});

test('base64, hex and URL encoding are looked into; the finding says which encoding', () => {
  const b64 = Buffer.from('my card is 4111 1111 1111 1111').toString('base64');
  const hex = Buffer.from('AKIAIOSFODNN7EXAMPLE').toString('hex');
  const url = encodeURIComponent('bob@example.com');
  const found = detect(`a ${b64} b ${hex} c ?to=${url}`, ALL).map((s) => `${s.rule}/${s.encoding ?? 'plain'}`);
  assert.deepEqual(found, ['pii.card/base64', 'secret.aws_access_key/hex', 'pii.email/url']);
  // Random base64 that decodes to bytes, not text, is not an encoding of anything (but may be a key).
  assert.ok(detect(randomBytes(12).toString('hex'), ALL).length === 0);
});

test('a value split across adjacent content blocks is found, and redacted in each block', () => {
  const result = { content: [{ type: 'text', text: 'card: 4111 1111 ' }, { type: 'text', text: '1111 1111 ok' }, { type: 'image', data: 'AAAA', mimeType: 'image/png' }] };
  const scan = scanContent('tools/call', result, ALL, BOTH);
  assert.deepEqual(scan.findings.map((f) => [f.rule, f.where]), [['pii.card', 'content[0].text+content[1].text']]);
  const redacted = scan.redacted as typeof result;
  assert.equal(redacted.content[0]?.text, 'card: [REDACTED:pii.card]');
  assert.equal(redacted.content[1]?.text, ' ok');
  assert.equal(result.content[0]?.text, 'card: 4111 1111 ', 'the original is not changed');
});

test('a block glued to a neighbour that hides it when joined is still read alone: base64 after letters, a key after a word', () => {
  const secret = 'AKIAIOSFODNN7EXAMPLE';
  const b64 = Buffer.from(`key ${secret}`).toString('base64');
  for (const content of [
    [{ type: 'text', text: 'hello' }, { type: 'text', text: b64 }],
    [{ type: 'text', text: 'ab' }, { type: 'text', text: b64 }, { type: 'text', text: 'cd' }],
    [{ type: 'text', text: 'prefix' }, { type: 'text', text: secret }],
  ]) {
    const scan = scanContent('tools/call', { content }, ALL, BOTH);
    assert.ok(scan.findings.some((f) => f.rule === 'secret.aws_access_key'), JSON.stringify(content));
    const redacted = JSON.stringify(scan.redacted);
    assert.ok(!redacted.includes(b64) && !redacted.includes(secret), redacted);
  }
});

test('structuredContent, resource blobs and prompt messages are scanned', () => {
  const tool = scanContent('tools/call', { content: [], isError: true, structuredContent: { user: { email: 'x@example.org' } } }, ALL, BOTH);
  assert.deepEqual(tool.findings.map((f) => f.where), ['structuredContent.user.email']);
  const blob = Buffer.from('password AKIAIOSFODNN7EXAMPLE').toString('base64');
  const res = scanContent('resources/read', { contents: [{ uri: 'a://b', blob }] }, ALL, BOTH);
  assert.deepEqual(res.findings.map((f) => [f.rule, f.where]), [['secret.aws_access_key', 'contents[0].blob']]);
  const back = Buffer.from((res.redacted as { contents: { blob: string }[] }).contents[0]?.blob ?? '', 'base64').toString();
  assert.equal(back, 'password [REDACTED:secret.aws_access_key]');
  const prompt = scanContent('prompts/get', { messages: [{ role: 'user', content: { type: 'text', text: 'ssn 123-45' } }, { role: 'user', content: { type: 'text', text: '-6789' } }] }, ALL, BOTH);
  assert.deepEqual(prompt.findings.map((f) => f.where), ['messages[0].content.text+messages[1].content.text']);
});

test('arguments: every string by its path', () => {
  const scan = scanContent('arguments', { q: 'ok', list: [{ note: 'reach me at eve@example.net' }] }, ALL, BOTH);
  assert.deepEqual(scan.findings.map((f) => f.where), ['arguments.list[0].note']);
  assert.deepEqual(scan.redacted, { q: 'ok', list: [{ note: 'reach me at [REDACTED:pii.email]' }] });
});

test('regression: a long run of token characters without a match is scanned in linear time, not quadratic', () => {
  // Before the URL-token and email patterns were anchored to token starts, 200 kB took minutes.
  const started = performance.now();
  assert.deepEqual(detect(`${'x'.repeat(200_000)}%41 ${'y'.repeat(200_000)}@`, ALL), []);
  assert.ok(performance.now() - started < 5000, 'far below what a quadratic scan of this text takes');
});

test("a detector's `needs` only skips texts it could not match: the same spans as without it, on texts built to be close calls", () => {
  const unguarded = ALL.map(({ needs: _needs, ...d }) => d);
  const jwt = `${Buffer.from('{"alg":"HS256"}').toString('base64url')}.${Buffer.from('{"sub":"1"}').toString('base64url')}.SflKxwRJSMeKKF2QT4fw`;
  const samples = [
    'AKIAIOSFODNN7EXAMPLE', `ghp_${'a1B2c3D4e5'.repeat(4)}`, 'glpat-abcdefghij0123456789', 'xoxb-123456789012-abcdefABCDEF',
    ['sk', 'live', '4eC39HqLyjWDarjtT1zdp7dc'].join('_'), 'sk-proj-abcdefghijklmnopqrstuvwxyz012345', jwt, generateToken(KEY_PREFIX),
    'DE89 3704 0044 0532 0130 00', '4111 1111 1111 1111', '123-45-6789', '+44 20 7946 0958', 'a@b.co', '%61%40%62%2e%63%6f',
    Buffer.from('mail me at x@example.com').toString('base64'), Buffer.from('AKIAIOSFODNN7EXAMPLE').toString('hex'), Buffer.from('ab@cd.ef').toString('hex'),
    '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----', randomBytes(30).toString('base64'),
  ];
  const piece = fc.oneof(fc.constantFrom(...samples), fc.string({ maxLength: 12 }), fc.constantFrom(' ', '-', '.', '_', '=', '%', '@', '\n', '0', 'Z'));
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 8 }), fc.nat(40), (parts, cut) => {
      const joined = parts.join('');
      // Cut a character out: near misses (a key one character short, a split email) must be skipped only when they cannot match.
      const text = joined.slice(0, cut) + joined.slice(cut + 1);
      assert.deepEqual(detect(text, ALL), detect(text, unguarded));
    }),
    { seed: 20261207, numRuns: 3000 },
  );
  // The decoders' own thresholds, at the shortest token each looks into (16 characters).
  assert.deepEqual(rules(Buffer.from('ab@cd.ef').toString('hex')), ['pii.email']);
  assert.deepEqual(rules(Buffer.from('ab@cd.efghij').toString('base64')), ['pii.email']);
  assert.deepEqual(rules('%61%40%62%2e%63%6f'), ['pii.email']);
});
