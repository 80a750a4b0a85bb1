import type { Vault } from '../../../vault/vault.ts';

/**
 * The one place upstream OAuth values (a connector's client secret or private key) are sealed and opened, under the
 * organisation's data key (vault.ts) like every other connector secret. A ciphertext opens only for the row and
 * field it was sealed for.
 */
export function oauthBinding(orgId: string, connectorId: string, field: string): string {
  return `connector/${orgId}/${connectorId}/oauth/${field}`;
}

export function sealOAuthValue(vault: Pick<Vault, 'seal'>, orgId: string, connectorId: string, field: string, value: string): Promise<string> {
  return vault.seal(orgId, value, oauthBinding(orgId, connectorId, field));
}

export function openOAuthValue(vault: Pick<Vault, 'open'>, orgId: string, connectorId: string, field: string, ciphertext: string): Promise<string> {
  return vault.open(orgId, ciphertext, oauthBinding(orgId, connectorId, field));
}
