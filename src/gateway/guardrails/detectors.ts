import { KEY_PREFIX, isWellFormedToken } from '../authn/api-key-format.ts';

/**
 * The built-in detectors of personal data and secrets. Each finds spans in a text; a span's rule id is what the
 * audit record names (never the matched text). Patterns that match too much on their own carry a checksum or a
 * structural check (Luhn for cards, mod-97 for IBANs, a JSON header for JWTs, the key checksum for Gatehouse keys),
 * so a random number is not a card and a random word is not a key.
 */
export type DetectorKind = 'pii' | 'secrets';

export interface Detector {
  readonly id: string;
  readonly kind: DetectorKind;
  readonly pattern: RegExp;
  readonly valid?: (match: string) => boolean;
  /**
   * What a text must have for the pattern to be able to match at all (a cheap necessary condition, never a
   * sufficient one): a text without it skips the regular expression. Absent: always run.
   */
  readonly needs?: (text: string, f: TextFeatures) => boolean;
}

/** What one pass over a text tells the detectors' `needs`. */
export interface TextFeatures {
  /** The longest run of token characters, [A-Za-z0-9+/=_-]: every key, token and encoding is one such run. */
  readonly run: number;
  readonly digits: number;
}

/** One pass over the text's character codes. */
export function textFeatures(text: string): TextFeatures {
  let run = 0;
  let current = 0;
  let digits = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const digit = c >= 48 && c <= 57;
    if (digit) digits++;
    if (digit || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 43 || c === 47 || c === 61 || c === 95 || c === 45) {
      current++;
      if (current > run) run = current;
    } else current = 0;
  }
  return { run, digits };
}

export interface Span {
  readonly start: number;
  readonly end: number;
  readonly rule: string;
  readonly kind: DetectorKind;
  /** How the matched text was hidden: base64, hex or url (absent: it was plain). */
  readonly encoding?: string;
}

const digitsOf = (s: string): string => s.replace(/\D/g, '');

/** The Luhn checksum of a card number (digits only). */
export function luhnValid(digits: string): boolean {
  if (!/^\d{2,}$/.test(digits)) return false;
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/** ISO 13616 mod-97 check of an IBAN (spaces allowed). */
export function ibanValid(candidate: string): boolean {
  const s = candidate.replace(/ /g, '').toUpperCase();
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(s)) return false;
  const moved = s.slice(4) + s.slice(0, 4);
  let rest = 0;
  for (const ch of moved) {
    const code = ch.charCodeAt(0);
    const value = code >= 65 ? String(code - 55) : ch;
    for (const digit of value) rest = (rest * 10 + (digit.charCodeAt(0) - 48)) % 97;
  }
  return rest === 1;
}

/** Shannon entropy in bits per character. */
export function shannonEntropy(s: string): number {
  if (s.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let h = 0;
  for (const n of counts.values()) {
    const p = n / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}

/** Long tokens at or above this many bits per character are treated as secrets (hex, at most 4, never is). */
export const ENTROPY_THRESHOLD = 4.5;
export const ENTROPY_MIN_LENGTH = 32;

/** Text a base64 token decodes to, when it is readable text (then it is an encoding to look into, not a key). */
export function decodedText(bytes: Buffer): string | undefined {
  if (bytes.length < 4) return undefined;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
  let printable = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x20 ? c !== 0x7f : c === 9 || c === 10 || c === 13) printable++;
  }
  return printable / text.length >= 0.95 ? text : undefined;
}

function looksLikeJwt(token: string): boolean {
  const header = token.slice(0, token.indexOf('.'));
  const text = decodedText(Buffer.from(header, 'base64url'));
  if (text === undefined) return false;
  try {
    const h = JSON.parse(text) as unknown;
    return typeof h === 'object' && h !== null && ('alg' in h || 'typ' in h || 'enc' in h);
  } catch {
    return false;
  }
}

function phoneValid(m: string): boolean {
  const n = digitsOf(m).length;
  if (m.startsWith('+')) return n >= 8 && n <= 15;
  if (n < 10 || n > 15) return false;
  // Dotted quads and dates are not phone numbers.
  return !/^\d{1,3}(\.\d{1,3}){3}$/.test(m) && !/^\d{4}[-./]\d{2}[-./]\d{2}/.test(m);
}

function cardValid(m: string): boolean {
  const d = digitsOf(m);
  return d.length >= 13 && d.length <= 19 && /^(?:3[0-9]|4|5[1-5]|2[2-7]|6)/.test(d) && luhnValid(d);
}

function ssnValid(m: string): boolean {
  const [area = '', group = '', serial = ''] = m.split(/[- ]/);
  return area !== '000' && area !== '666' && !area.startsWith('9') && group !== '00' && serial !== '0000';
}

function highEntropy(token: string): boolean {
  if (!/\d/.test(token) || !/[A-Za-z]/.test(token)) return false;
  if (shannonEntropy(token) < ENTROPY_THRESHOLD) return false;
  // A token that decodes to readable text is an encoding (looked into on its own), not a random key.
  return decodedText(Buffer.from(token.replace(/-/g, '+').replace(/_/g, '/'), 'base64')) === undefined;
}

export const PII_DETECTORS: readonly Detector[] = [
  { id: 'pii.email', kind: 'pii', needs: (t) => t.includes('@'), pattern: /(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24}/g },
  { id: 'pii.card', kind: 'pii', needs: (_t, f) => f.digits >= 13, pattern: /(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])/g, valid: cardValid },
  { id: 'pii.iban', kind: 'pii', needs: (_t, f) => f.digits >= 2 && f.run >= 4, pattern: /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b/g, valid: ibanValid },
  { id: 'pii.ssn', kind: 'pii', needs: (_t, f) => f.digits >= 9, pattern: /(?<![\d-])\d{3}[- ]\d{2}[- ]\d{4}(?![\d-])/g, valid: ssnValid },
  {
    id: 'pii.phone',
    kind: 'pii',
    needs: (_t, f) => f.digits >= 8,
    pattern: /(?<![\w+.-])(?:\+\d{8,15}|(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]\d{2,4}){1,4})(?![\w-])/g,
    valid: phoneValid,
  },
];

export const SECRET_DETECTORS: readonly Detector[] = [
  {
    id: 'secret.private_key',
    kind: 'secrets',
    needs: (t) => t.includes('-----BEGIN '),
    pattern: /-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----(?:[\s\S]*?-----END [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----|[A-Za-z0-9+/=\s]*)/g,
  },
  { id: 'secret.jwt', kind: 'secrets', needs: (t, f) => f.run >= 11 && t.includes('eyJ'), pattern: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g, valid: looksLikeJwt },
  { id: 'secret.aws_access_key', kind: 'secrets', needs: (_t, f) => f.run >= 20, pattern: /\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b/g },
  { id: 'secret.github_token', kind: 'secrets', needs: (t, f) => f.run >= 33 && t.includes('g'), pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b/g },
  { id: 'secret.gitlab_token', kind: 'secrets', needs: (t, f) => f.run >= 24 && t.includes('gl'), pattern: /\bgl(?:pat|dt|rt|ptt|ft|imt|oas|cbt|soat|ffct)-[A-Za-z0-9_-]{20,}/g },
  { id: 'secret.slack_token', kind: 'secrets', needs: (t, f) => f.run >= 14 && (t.includes('xox') || t.includes('hooks.slack.com')), pattern: /\bxox[abposre]-[A-Za-z0-9-]{10,}|https:\/\/hooks\.slack\.com\/services\/T[A-Za-z0-9_/]{20,}/g },
  { id: 'secret.stripe_key', kind: 'secrets', needs: (t, f) => f.run >= 24 && (t.includes('_live_') || t.includes('_test_') || t.includes('whsec_')), pattern: /\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}|\bwhsec_[A-Za-z0-9]{24,}/g },
  { id: 'secret.openai_key', kind: 'secrets', needs: (t, f) => f.run >= 23 && t.includes('sk-'), pattern: /\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}/g },
  { id: 'secret.google_api_key', kind: 'secrets', needs: (t, f) => f.run >= 20 && (t.includes('AIza') || t.includes('ya29.')), pattern: /\bAIza[0-9A-Za-z_-]{35}|\bya29\.[0-9A-Za-z_-]{20,}/g },
  {
    id: 'secret.gatehouse_key',
    kind: 'secrets',
    needs: (t, f) => f.run >= 53 && t.includes('gth'),
    pattern: /\bgths?_[0-9A-Za-z]{49}\b/g,
    valid: (m) => isWellFormedToken(m.startsWith(KEY_PREFIX) ? KEY_PREFIX : 'gths_', m),
  },
  { id: 'secret.high_entropy', kind: 'secrets', needs: (_t, f) => f.run >= ENTROPY_MIN_LENGTH, pattern: new RegExp(`[A-Za-z0-9+/_-]{${String(ENTROPY_MIN_LENGTH)},}={0,2}`, 'g'), valid: highEntropy },
];
