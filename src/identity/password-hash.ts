import { argon2, randomBytes, timingSafeEqual } from 'node:crypto';

/** Argon2id cost parameters, as written in the PHC string, so a stored hash says how to check it. */
export interface Argon2Params {
  /** Memory in KiB. */
  readonly memory: number;
  /** Passes over memory (t). */
  readonly passes: number;
  /** Lanes (p). */
  readonly parallelism: number;
}

/**
 * OWASP's first recommended Argon2id setting (19 MiB, t=2, p=1): about 50-200 ms per hash on a small two-core
 * machine, paid once per sign-in, in libuv's thread pool so the event loop never waits for it. Raising these later is
 * safe: each stored hash carries its own parameters and `needsRehash` says when to replace it at the next sign-in.
 */
export const DEFAULT_ARGON2: Argon2Params = Object.freeze({ memory: 19_456, passes: 2, parallelism: 1 });

const SALT_BYTES = 16;
const TAG_BYTES = 32;
const VERSION = 19;
/** Refuse stored parameters that would let a tampered row burn the server (memory) or weaken the check. */
const LIMITS = { memory: [8_192, 1_048_576], passes: [1, 16], parallelism: [1, 16] } as const;
const PHC = /^\$argon2id\$v=19\$m=(\d{1,8}),t=(\d{1,3}),p=(\d{1,3})\$([A-Za-z0-9+/]{16,88})\$([A-Za-z0-9+/]{16,88})$/;

function derive(password: string, salt: Buffer, params: Argon2Params, tagLength: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    argon2('argon2id', { message: password, nonce: salt, parallelism: params.parallelism, tagLength, memory: params.memory, passes: params.passes }, (err, key) => {
      if (err) reject(err);
      else resolve(key);
    });
  });
}

const b64 = (b: Buffer) => b.toString('base64').replace(/=+$/, '');

/** Hashes a password into a PHC string: `$argon2id$v=19$m=…,t=…,p=…$<salt>$<hash>`. */
export async function hashPassword(password: string, params: Argon2Params = DEFAULT_ARGON2): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const tag = await derive(password, salt, params, TAG_BYTES);
  return `$argon2id$v=${String(VERSION)}$m=${String(params.memory)},t=${String(params.passes)},p=${String(params.parallelism)}$${b64(salt)}$${b64(tag)}`;
}

interface ParsedHash {
  readonly params: Argon2Params;
  readonly salt: Buffer;
  readonly tag: Buffer;
}

export function parsePasswordHash(phc: string): ParsedHash | undefined {
  const m = PHC.exec(phc);
  if (m === null) return undefined;
  const params = { memory: Number(m[1]), passes: Number(m[2]), parallelism: Number(m[3]) };
  for (const [name, [min, max]] of Object.entries(LIMITS)) {
    const v = params[name as keyof Argon2Params];
    if (v < min || v > max) return undefined;
  }
  if (params.memory < 8 * params.parallelism) return undefined;
  return { params, salt: Buffer.from(m[4] ?? '', 'base64'), tag: Buffer.from(m[5] ?? '', 'base64') };
}

/** Whether the password matches the stored hash; false for a malformed or out-of-bounds hash, never a throw. */
export async function verifyPassword(password: string, phc: string): Promise<boolean> {
  const parsed = parsePasswordHash(phc);
  if (parsed === undefined) return false;
  const tag = await derive(password, parsed.salt, parsed.params, parsed.tag.length);
  return tag.length === parsed.tag.length && timingSafeEqual(tag, parsed.tag);
}

/** True when the stored hash is cheaper than the current parameters: rehash it after the next good sign-in. */
export function needsRehash(phc: string, params: Argon2Params = DEFAULT_ARGON2): boolean {
  const parsed = parsePasswordHash(phc);
  if (parsed === undefined) return true;
  return parsed.params.memory < params.memory || parsed.params.passes < params.passes || parsed.params.parallelism < params.parallelism;
}
