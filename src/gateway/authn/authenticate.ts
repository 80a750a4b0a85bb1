import type { KeyObject } from 'node:crypto';
import { compileAllowlist } from '../../cidr.ts';
import type { KeyRole, Store } from '../../store/types.ts';
import { boundedRole } from '../access/permissions.ts';
import { compileScopes } from '../access/scopes.ts';
import { hashApiKey, isWellFormedApiKey, KEY_PREFIX } from './api-key-format.ts';
import type { AuthResult } from '../principal.ts';
import type { VerifyToken } from './oauth-token.ts';

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * Bearer authentication. A `gth_` API key is checked for shape and checksum first (no lookup for garbage), then
 * looked up by its keyed hash on every request, so a revocation applies to the very next request of any open
 * session. Anything shaped like a JWT is an OAuth access token from an organisation's IdP, verified in full on every
 * request. Every failure looks the same to the client; the reason is for the audit record.
 */
export function createAuthenticator(deps: { store: Pick<Store, 'findApiKeyByHash' | 'getMember'>; pepper: KeyObject; verifyToken?: VerifyToken }) {
  return async function authenticate(authorization: string | undefined, now: number, server: string | null = null): Promise<AuthResult> {
    if (authorization === undefined || authorization === '') return { ok: false, reason: 'missing' };
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization);
    const token = match?.[1];
    if (token !== undefined && !token.startsWith(KEY_PREFIX) && JWT_SHAPE.test(token) && deps.verifyToken !== undefined) {
      return deps.verifyToken(token, server, now);
    }
    if (token === undefined || !isWellFormedApiKey(token)) return { ok: false, reason: 'malformed' };
    const key = await deps.store.findApiKeyByHash(hashApiKey(token, deps.pepper));
    if (key === undefined) return { ok: false, reason: 'unknown' };
    if (key.revokedAt !== null) return { ok: false, reason: 'revoked', orgId: key.orgId, keyId: key.id };
    if (key.expiresAt !== null && Date.parse(key.expiresAt) <= now) return { ok: false, reason: 'expired', orgId: key.orgId, keyId: key.id };
    let role: KeyRole | undefined = key.role;
    if (key.userId !== null) {
      // A key acting for a user is worth no more than the user's membership, checked on every request like revocation.
      const member = await deps.store.getMember(key.orgId, key.userId);
      role = member === undefined ? undefined : boundedRole(key.role, member.role);
      if (role === undefined) return { ok: false, reason: 'not_a_member', orgId: key.orgId, keyId: key.id };
    }
    return {
      ok: true,
      principal: {
        orgId: key.orgId,
        keyId: key.id,
        keyName: key.name,
        role,
        userId: key.userId,
        scopes: compileScopes(key.scopes),
        scopeList: key.scopes,
        servers: key.servers,
        expiresAt: key.expiresAt,
        cidrs: key.cidrs,
        network: key.cidrs === null ? null : compileAllowlist(key.cidrs),
        actor: { keyId: key.id, user: key.userId },
      },
    };
  };
}

export type Authenticate = ReturnType<typeof createAuthenticator>;
