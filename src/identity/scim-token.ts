import { displayPrefix, generateToken, isWellFormedToken } from '../gateway/authn/api-key-format.ts';

/**
 * The SCIM bearer token of an organisation: the API key format under its own prefix, so a secret scanner tells the
 * two apart and neither is accepted where the other is expected. (`ghs_` was avoided: GitHub's tokens use it.)
 */
export const SCIM_TOKEN_PREFIX = 'gths_';

export function generateScimToken(): string {
  return generateToken(SCIM_TOKEN_PREFIX);
}

export function isWellFormedScimToken(candidate: string): boolean {
  return isWellFormedToken(SCIM_TOKEN_PREFIX, candidate);
}

export function scimTokenPrefix(token: string): string {
  return displayPrefix(token, SCIM_TOKEN_PREFIX);
}
