import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const MIN_PASSWORD_LENGTH = 12;
/** Long enough for any passphrase, short enough that hashing one is not a denial of service. */
export const MAX_PASSWORD_LENGTH = 256;

let common: ReadonlySet<string> | undefined;

function commonPasswords(): ReadonlySet<string> {
  common ??= new Set(
    readFileSync(join(import.meta.dirname, 'common-passwords.txt'), 'utf8')
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('#')),
  );
  return common;
}

/** Why a password is refused; the message names the rule, never the password. */
export type PasswordProblem = 'too_short' | 'too_long' | 'common' | 'contains_email';

const MESSAGES: Record<PasswordProblem, string> = {
  too_short: `A password must have at least ${String(MIN_PASSWORD_LENGTH)} characters`,
  too_long: `A password must have at most ${String(MAX_PASSWORD_LENGTH)} characters`,
  common: 'That password is too common: choose one that is not on lists of popular passwords',
  contains_email: 'A password must not contain your email address or its name part',
};

export function passwordProblemMessage(p: PasswordProblem): string {
  return MESSAGES[p];
}

/**
 * The length policy of NIST SP 800-63B (at least 12 here, no composition rules) and a refusal of passwords that are
 * common or made of the account's own email. Length counts code points, so an emoji is one character. A common
 * password padded to length with digits, symbols or repetition ("password1234", "qwertyqwerty") is still common.
 */
export function checkPassword(password: string, email: string): PasswordProblem | undefined {
  const length = Array.from(password).length;
  if (length < MIN_PASSWORD_LENGTH) return 'too_short';
  if (length > MAX_PASSWORD_LENGTH) return 'too_long';
  const lower = password.normalize('NFKC').toLowerCase();
  const address = email.trim().toLowerCase();
  const local = address.split('@')[0] ?? '';
  if (lower.includes(address) || (local.length >= 4 && lower.includes(local))) return 'contains_email';
  if (isCommon(lower)) return 'common';
  return undefined;
}

function isCommon(lower: string): boolean {
  const list = commonPasswords();
  if (list.has(lower)) return true;
  // Strip the padding people add to meet a length rule, at either end.
  const core = lower.replace(/^[\d\W_]+/, '').replace(/[\d\W_]+$/, '');
  if (core.length >= 4 && list.has(core)) return true;
  // The same short unit repeated: "qwertyqwerty", "abcabcabcabc", "aaaaaaaaaaaa".
  for (let unit = 1; unit <= lower.length / 2; unit++) {
    if (lower.length % unit === 0 && lower.slice(0, unit).repeat(lower.length / unit) === lower) return true;
  }
  // Nothing but digits, or a keyboard run of one kind of character, carries little more than its length.
  return /^\d+$/.test(lower) || new Set(lower).size <= 3;
}
