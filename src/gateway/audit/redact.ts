import { createHash } from 'node:crypto';

export const REDACTED = '[REDACTED]';
const MAX_ARGS_BYTES = 8 * 1024;
const MAX_DEPTH = 16;

/** Field names whose values are treated as secrets wherever they appear. */
const SECRET_KEY = /pass(word|wd|phrase)?|secret|token|api[-_]?key|auth(orization)?|credential|private[-_]?key|cookie|session[-_]?id|signature|access[-_]?key/i;

/** Values that look like credentials whatever field they are in. */
const SECRET_VALUE =
  /gth_[0-9A-Za-z]{20,}|Bearer\s+[A-Za-z0-9._~+/=-]{8,}|sk-[A-Za-z0-9_-]{16,}|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{30,}|xox[abprs]-[A-Za-z0-9-]{10,}|eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+|-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g;

export function isSecretFieldName(name: string): boolean {
  return SECRET_KEY.test(name);
}

export function redactValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return value.replace(SECRET_VALUE, REDACTED);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return '[TOO DEEP]';
  if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SECRET_KEY.test(k) && v !== null && v !== '' ? REDACTED : redactValue(v, depth + 1);
  }
  return out;
}

/**
 * The arguments as they go into the audit record: secret-looking fields and values redacted, bounded in size.
 * An oversized argument set is recorded by size and digest, so the record stays small and still identifies it.
 */
export function auditArgs(args: unknown): string | null {
  if (args === undefined) return null;
  const text = JSON.stringify(redactValue(args));
  if (text.length <= MAX_ARGS_BYTES) return text;
  return JSON.stringify({ truncated: true, bytes: Buffer.byteLength(text), sha256: createHash('sha256').update(text).digest('hex') });
}
