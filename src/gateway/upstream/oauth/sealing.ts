import type { SecretBox } from '../../../vault/secret-box.ts';

/**
 * The one place upstream OAuth values (a connector's client secret, a person's tokens) are sealed and opened, so
 * the vault's key scheme can change behind it. A ciphertext opens only for the row and field it was sealed for.
 */
export function oauthBinding(orgId: string, connectorId: string, field: string): string {
  return `connector/${orgId}/${connectorId}/oauth/${field}`;
}

export function sealOAuthValue(box: SecretBox, orgId: string, connectorId: string, field: string, value: string): string {
  return box.seal(value, oauthBinding(orgId, connectorId, field));
}

export function openOAuthValue(box: SecretBox, orgId: string, connectorId: string, field: string, ciphertext: string): string {
  return box.open(ciphertext, oauthBinding(orgId, connectorId, field));
}
