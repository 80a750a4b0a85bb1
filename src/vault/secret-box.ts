import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { GatehouseError } from '../errors.ts';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * AES-256-GCM for secrets at rest. The ciphertext is `v1.<iv>.<ciphertext>.<tag>` (base64url) and is bound to
 * where it is stored by associated data (organisation, connector, field), so a ciphertext copied to another row
 * does not decrypt. The later vault (per-organisation data keys, HSM) replaces the key source, not this format's
 * contract: versioned, authenticated, bound.
 */
export class SecretBox {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error('SecretBox needs a 32-byte key');
    this.#key = key;
  }

  seal(plaintext: string, boundTo: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    cipher.setAAD(Buffer.from(boundTo, 'utf8'));
    const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, iv.toString('base64url'), ct.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
  }

  open(sealed: string, boundTo: string): string {
    const [version, iv, ct, tag] = sealed.split('.');
    if (version !== VERSION || iv === undefined || ct === undefined || tag === undefined) {
      throw new GatehouseError('internal', 'Unreadable secret ciphertext');
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, Buffer.from(iv, 'base64url'), { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(boundTo, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
    } catch (err) {
      throw new GatehouseError('internal', 'A stored secret failed authentication (wrong key or moved ciphertext)', { cause: err });
    }
  }
}
