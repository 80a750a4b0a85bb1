import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hkdfSync, randomBytes } from 'node:crypto';
import type { Config } from '../config/schema.ts';
import { GatehouseError } from '../errors.ts';

const KEY_BYTES = 32;

/**
 * The root secret of one deployment. Every other key is derived from it with HKDF under its own label, so one
 * key source serves the connector-secret box and the API-key pepper without the two ever being the same key.
 * In development it lives in `<dataDir>/master.key` (created 0600); in production it comes from the environment.
 */
export class MasterKey {
  readonly #key: Buffer;

  private constructor(key: Buffer) {
    this.#key = key;
  }

  static load(config: Pick<Config, 'dataDir' | 'masterKey'>): MasterKey {
    if (config.masterKey !== undefined) {
      const key = Buffer.from(config.masterKey.reveal(), 'base64');
      if (key.length !== KEY_BYTES) throw new GatehouseError('config_invalid', 'GATEHOUSE_MASTER_KEY must be base64 of exactly 32 bytes');
      return new MasterKey(key);
    }
    return new MasterKey(loadOrCreateKeyFile(join(config.dataDir, 'master.key')));
  }

  /** A key given as bytes (tests, and tools that hold the key already). */
  static fromBytes(key: Buffer): MasterKey {
    if (key.length !== KEY_BYTES) throw new GatehouseError('config_invalid', 'A master key is exactly 32 bytes');
    return new MasterKey(Buffer.from(key));
  }

  derive(label: string): Buffer {
    return Buffer.from(hkdfSync('sha256', this.#key, Buffer.alloc(0), `gatehouse/${label}`, KEY_BYTES));
  }
}

function loadOrCreateKeyFile(path: string): Buffer {
  if (!existsSync(path)) {
    mkdirSync(join(path, '..'), { recursive: true, mode: 0o700 });
    // 'wx' fails if another process created it first; then we read theirs.
    try {
      writeFileSync(path, randomBytes(KEY_BYTES).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new GatehouseError('config_invalid', `${path} must be readable by its owner only (chmod 600)`);
  }
  const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
  if (key.length !== KEY_BYTES) throw new GatehouseError('config_invalid', `${path} does not hold a 32-byte key`);
  chmodSync(path, 0o600);
  return key;
}
