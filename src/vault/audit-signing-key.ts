import type { SecretBox } from './secret-box.ts';

/**
 * The one place the audit signing key's private half meets the vault: sealed at rest, bound to its key id, opened
 * only to sign. When keys move to per-organisation data keys or an HSM, this function is what changes.
 */
export function auditSigningKeyVault(box: SecretBox): { seal(keyId: string, pkcs8Pem: string): string; open(keyId: string, sealed: string): string } {
  const boundTo = (keyId: string) => `audit-signing-key:${keyId}`;
  return {
    seal: (keyId, pkcs8Pem) => box.seal(pkcs8Pem, boundTo(keyId)),
    open: (keyId, sealed) => box.open(sealed, boundTo(keyId)),
  };
}
