import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const TAG = 'v2';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * The ciphertext of a secret under an organisation's data key: `v2.<data key version>.<iv>.<ciphertext>.<tag>`
 * (base64url), AES-256-GCM. The associated data is the organisation, the data key version and the binding (owner
 * and field: `connector/<org>/<connector>/header/<name>`), so a ciphertext moved to another row, organisation or
 * version does not open. `v1.` ciphertexts are the older single-key secret box (secret-box.ts), still readable.
 */
export interface Envelope {
  readonly version: number;
  readonly iv: Buffer;
  readonly ciphertext: Buffer;
  readonly tag: Buffer;
}

export function isEnvelope(sealed: string): boolean {
  return sealed.startsWith(`${TAG}.`);
}

/** The data key version a ciphertext names; undefined for a v1 ciphertext or an unreadable one. */
export function envelopeVersion(sealed: string): number | undefined {
  return parseEnvelope(sealed)?.version;
}

export function parseEnvelope(sealed: string): Envelope | undefined {
  const [tag, version, iv, ct, authTag, extra] = sealed.split('.');
  if (tag !== TAG || version === undefined || !/^[1-9][0-9]{0,8}$/.test(version) || iv === undefined || ct === undefined || authTag === undefined || extra !== undefined) return undefined;
  return { version: Number(version), iv: Buffer.from(iv, 'base64url'), ciphertext: Buffer.from(ct, 'base64url'), tag: Buffer.from(authTag, 'base64url') };
}

function aad(orgId: string, version: number, binding: string): Buffer {
  return Buffer.from(`gatehouse/secret/v2\n${orgId}\n${version}\n${binding}`, 'utf8');
}

export function sealEnvelope(key: Buffer, orgId: string, version: number, plaintext: string, binding: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad(orgId, version, binding));
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [TAG, String(version), iv.toString('base64url'), ct.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
}

/** Throws when the key, the organisation, the version or the binding is not the one it was sealed with. */
export function openEnvelope(key: Buffer, orgId: string, e: Envelope, binding: string): string {
  const decipher = createDecipheriv('aes-256-gcm', key, e.iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(aad(orgId, e.version, binding));
  decipher.setAuthTag(e.tag);
  return Buffer.concat([decipher.update(e.ciphertext), decipher.final()]).toString('utf8');
}
