import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SETTING_ENV } from '../config/load.ts';
import type { Config } from '../config/schema.ts';

const REDACTED = '[redacted]';
/** Environment variable names that hold secrets by their look (what the log's redaction also keys on). */
const SECRET_NAME = /KEY|SECRET|TOKEN|PASS|CREDENTIAL|AUTH|COOKIE|PRIVATE|SESSION|DATABASE_URL/i;
/** The gateway's own settings that are not secrets, whatever their names look like (GATEHOUSE_RATE_LIMIT_AUTH). */
const PLAIN_SETTINGS = new Set(
  Object.entries(SETTING_ENV)
    .filter(([key]) => key !== 'masterKey' && key !== 'databaseUrl')
    .map(([, name]) => name),
);
/** Files in the data directory up to this size are read for their values (key files); the database is not. */
const SMALL_FILE = 16 * 1024;

/** Shapes a secret has wherever it appears, whether or not its value is known. */
const PATTERNS: readonly RegExp[] = [
  /gths?_[A-Za-z0-9]{20,}/g, // Gatehouse API keys and SCIM tokens
  /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g, // JWTs
  /(\bbearer\s+)[^\s"',;]+/gi,
  /(\bbasic\s+)[A-Za-z0-9+/=]{8,}/gi,
  /(:\/\/[^\s:/@"']*:)[^\s@/"']+(?=@)/g, // credentials in URLs
  /("(?:[A-Za-z_]*(?:password|secret|token|apiKey|api_key|key|cookie|authorization))"\s*:\s*")[^"]*(?=")/gi,
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g,
  /(\b(?:gh_session|gh_csrf|session)=)[^;\s"]+/gi,
];

/**
 * Removes every secret it knows of from text: the values themselves (the configuration's secrets, what the data
 * directory's small files hold, environment variables with secret-looking names) and the shapes of secrets
 * (keys, tokens, JWTs, bearer and basic credentials, passwords in URLs and JSON, private keys).
 */
export interface Redactor {
  redact(text: string): string;
  /** How many known values it looks for (none of them shown). */
  readonly known: number;
}

export function createRedactor(config: Config, env: NodeJS.ProcessEnv): Redactor {
  const values = new Set<string>();
  const add = (v: string | undefined) => {
    const t = v?.trim();
    if (t === undefined || t.length < 6) return;
    values.add(t);
    // Secrets also travel encoded: as URL components and as base64 of their bytes.
    values.add(encodeURIComponent(t));
    if (/^[A-Za-z0-9+/]+=*$/.test(t)) values.add(Buffer.from(t, 'base64').toString('hex'));
  };
  if (config.masterKey !== undefined) add(config.masterKey.reveal());
  if (config.databaseUrl !== undefined) {
    const url = config.databaseUrl.reveal();
    add(url);
    try {
      add(decodeURIComponent(new URL(url).password));
    } catch {
      // Not a URL after all: the whole value is already known.
    }
  }
  for (const [name, value] of Object.entries(env)) if (SECRET_NAME.test(name) && !PLAIN_SETTINGS.has(name)) add(value);
  for (const file of smallFiles(config.dataDir)) {
    const text = readFileSync(file, 'utf8');
    add(text);
    for (const line of text.split('\n')) add(line);
  }
  if (config.tlsKey !== undefined) add(readIfSmall(config.tlsKey));
  // Longest first, so a value containing another is removed whole.
  const known = [...values].sort((a, b) => b.length - a.length);
  return {
    known: known.length,
    redact(text) {
      let out = text;
      for (const v of known) out = out.split(v).join(REDACTED);
      for (const p of PATTERNS) out = out.replace(p, (_m, keep?: unknown) => (typeof keep === 'string' ? keep + REDACTED : REDACTED));
      return out;
    },
  };
}

function smallFiles(dir: string): string[] {
  const found: string[] = [];
  const walk = (d: string, depth: number) => {
    let entries: string[];
    try {
      entries = readdirSync(d);
    } catch {
      return;
    }
    for (const name of entries) {
      const path = join(d, name);
      try {
        const s = statSync(path);
        if (s.isDirectory() && depth < 3) walk(path, depth + 1);
        else if (s.isFile() && s.size <= SMALL_FILE && !name.endsWith('.db') && !name.includes('.db-')) found.push(path);
      } catch {
        // Gone or unreadable: nothing of it can reach the bundle either.
      }
    }
  };
  walk(dir, 0);
  return found;
}

function readIfSmall(path: string): string | undefined {
  try {
    return statSync(path).size <= SMALL_FILE ? readFileSync(path, 'utf8') : undefined;
  } catch {
    return undefined;
  }
}
