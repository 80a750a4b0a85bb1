import assert from 'node:assert/strict';
import { test } from 'node:test';
import { base32Decode, base32Encode, hotp, newTotpSecret, otpauthUri, totpStep, verifyTotp } from './totp.ts';

// RFC 6238 appendix B: the seeds are ASCII "1234567890" repeated to the hash's key length; 8-digit codes.
const SEED = { sha1: Buffer.from('12345678901234567890'), sha256: Buffer.from('12345678901234567890123456789012'), sha512: Buffer.from('1234567890'.repeat(6) + '1234') };
const VECTORS: [number, string, string, string][] = [
  [59, '94287082', '46119246', '90693936'],
  [1111111109, '07081804', '68084774', '25091201'],
  [1111111111, '14050471', '67062674', '99943326'],
  [1234567890, '89005924', '91819424', '93441116'],
  [2000000000, '69279037', '90698825', '38618901'],
  [20000000000, '65353130', '77737706', '47863826'],
];

for (const [time, sha1, sha256, sha512] of VECTORS) {
  test(`RFC 6238 vector at T=${String(time)}`, () => {
    const step = totpStep(time * 1000);
    assert.equal(hotp(SEED.sha1, step, 8, 'sha1'), sha1);
    assert.equal(hotp(SEED.sha256, step, 8, 'sha256'), sha256);
    assert.equal(hotp(SEED.sha512, step, 8, 'sha512'), sha512);
  });
}

test('RFC 4226 appendix D HOTP vectors (6 digits)', () => {
  const expected = ['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583', '399871', '520489'];
  expected.forEach((code, counter) => {
    assert.equal(hotp(SEED.sha1, counter), code);
  });
});

test('base32 round-trips and matches RFC 4648 vectors', () => {
  assert.equal(base32Encode(Buffer.from('foobar')), 'MZXW6YTBOI');
  assert.equal(base32Decode('MZXW6YTBOI======').toString(), 'foobar');
  const s = newTotpSecret();
  assert.match(s, /^[A-Z2-7]{32}$/);
  assert.equal(base32Encode(base32Decode(s)), s);
});

test('verifyTotp accepts the current code and one step either side, returning the step; refuses the rest', () => {
  const secret = base32Encode(SEED.sha1);
  const now = 1111111111 * 1000;
  const step = totpStep(now);
  const key = base32Decode(secret);
  assert.equal(verifyTotp(secret, hotp(key, step), now), step);
  assert.equal(verifyTotp(secret, hotp(key, step - 1), now), step - 1);
  assert.equal(verifyTotp(secret, hotp(key, step + 1), now), step + 1);
  assert.equal(verifyTotp(secret, hotp(key, step - 2), now), undefined);
  assert.equal(verifyTotp(secret, hotp(key, step + 2), now), undefined);
  assert.equal(verifyTotp(secret, '12345', now), undefined);
  assert.equal(verifyTotp(secret, '1234567', now), undefined);
  assert.equal(verifyTotp(secret, 'abcdef', now), undefined);
});

test('otpauth URI carries issuer, account and parameters', () => {
  const uri = new URL(otpauthUri('JBSWY3DPEHPK3PXP', 'Gatehouse (acme)', 'ann@acme.example'));
  assert.equal(uri.protocol, 'otpauth:');
  assert.equal(uri.searchParams.get('secret'), 'JBSWY3DPEHPK3PXP');
  assert.equal(uri.searchParams.get('issuer'), 'Gatehouse (acme)');
  assert.equal(uri.searchParams.get('period'), '30');
});
