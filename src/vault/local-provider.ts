import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { KeyProvider } from './key-provider.ts';
import { providerFailed } from './key-provider.ts';
import type { MasterKey } from './master-key.ts';

const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * KEKs derived from the master key (`<dataDir>/master.key` or GATEHOUSE_MASTER_KEY) with HKDF, one label per
 * version, so every version stays derivable while a data key still names it. Wrapping is AES-256-GCM:
 * `iv || ciphertext || tag`.
 */
export class LocalKeyProvider implements KeyProvider {
  readonly id = 'local';
  readonly #master: MasterKey;

  constructor(master: MasterKey) {
    this.#master = master;
  }

  describe(): string {
    return 'local (KEK derived from the master key)';
  }

  createKek(): Promise<void> {
    return Promise.resolve();
  }

  /** A derived KEK cannot be deleted: it is never derived again once the vault records it destroyed. */
  destroyKek(): Promise<void> {
    return Promise.resolve();
  }

  wrap(dataKey: Buffer, kekVersion: number, aad: string): Promise<Buffer> {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#kek(kekVersion), iv);
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const ct = Buffer.concat([cipher.update(dataKey), cipher.final()]);
    return Promise.resolve(Buffer.concat([iv, ct, cipher.getAuthTag()]));
  }

  unwrap(wrapped: Buffer, kekVersion: number, aad: string): Promise<Buffer> {
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#kek(kekVersion), wrapped.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(aad, 'utf8'));
      decipher.setAuthTag(wrapped.subarray(wrapped.length - TAG_BYTES));
      return Promise.resolve(Buffer.concat([decipher.update(wrapped.subarray(IV_BYTES, wrapped.length - TAG_BYTES)), decipher.final()]));
    } catch (err) {
      return Promise.reject(providerFailed('unwrap a data key (wrong master key or moved key)', err));
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  #kek(version: number): Buffer {
    return this.#master.derive(`vault-kek/v${version}`);
  }
}
