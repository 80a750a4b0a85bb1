import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkPassword, passwordProblemMessage, MAX_PASSWORD_LENGTH } from './password-policy.ts';

const EMAIL = 'ann.smith@acme.example';

test('accepts a long, uncommon passphrase', () => {
  assert.equal(checkPassword('violet kettle harbour 93', EMAIL), undefined);
  assert.equal(checkPassword('x'.repeat(5) + 'Quartz-lamp-7', EMAIL), undefined);
});

test('refuses short and overlong passwords, counting characters not bytes', () => {
  assert.equal(checkPassword('Sh0rt!pw', EMAIL), 'too_short');
  assert.equal(checkPassword('🦊🦊🦊🦊🦊🦊', EMAIL), 'too_short'); // 24 bytes, 6 characters
  assert.equal(checkPassword('a1'.repeat(MAX_PASSWORD_LENGTH / 2) + 'z', EMAIL), 'too_long');
});

test('refuses common passwords, also padded to length or in another case', () => {
  for (const pw of ['1qaz2wsx3edc', 'password1234', 'PASSWORD123456', '!!baseball2024!!', 'qwertyqwerty', '123456789012', 'aaaaaaaaaaaa', 'abababababab']) {
    assert.equal(checkPassword(pw, EMAIL), 'common', pw);
  }
});

test('refuses a password containing the email or its name part', () => {
  assert.equal(checkPassword('ann.smith@acme.example!', EMAIL), 'contains_email');
  assert.equal(checkPassword('my name is Ann.Smith ok', EMAIL), 'contains_email');
});

test('the messages name the rule, never the password', () => {
  for (const p of ['too_short', 'too_long', 'common', 'contains_email'] as const) {
    assert.doesNotMatch(passwordProblemMessage(p), /password1234/);
  }
});
