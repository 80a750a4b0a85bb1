import type { KeyObject } from 'node:crypto';
import type { KeyRole, Store } from '../../store/types.ts';
import { boundedRole } from '../access/permissions.ts';
import { compileScopes, type ScopeSet } from '../access/scopes.ts';
import { hashApiKey, isWellFormedApiKey } from './api-key-format.ts';

/** Who is calling: the organisation and key a request was authenticated as. */
export interface Principal {
  readonly orgId: string;
  readonly keyId: string;
  readonly keyName: string;
  /** The key's role, bounded by its user's membership role when the key acts for a user. */
  readonly role: KeyRole;
  readonly userId: string | null;
  readonly scopes: ScopeSet;
  /** The scopes as written, for deciding what this key may hand out. */
  readonly scopeList: readonly string[];
  readonly expiresAt: string | null;
  /** The virtual servers the key is restricted to; null when it may use /mcp and every virtual server. */
  readonly servers: readonly string[] | null;
}

export type AuthFailure = 'missing' | 'malformed' | 'unknown' | 'revoked' | 'expired' | 'not_a_member';

export type AuthResult =
  | { readonly ok: true; readonly principal: Principal }
  | { readonly ok: false; readonly reason: AuthFailure; readonly orgId?: string; readonly keyId?: string };

/**
 * API-key authentication. The key is checked for shape and checksum first (no lookup for garbage), then looked up
 * by its keyed hash on every request, so a revocation applies to the very next request of any open session.
 * Every failure looks the same to the client; the reason is for the audit record.
 */
export function createAuthenticator(deps: { store: Pick<Store, 'findApiKeyByHash' | 'getMember'>; pepper: KeyObject }) {
  return async function authenticate(authorization: string | undefined, now: number): Promise<AuthResult> {
    if (authorization === undefined || authorization === '') return { ok: false, reason: 'missing' };
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization);
    const token = match?.[1];
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
      },
    };
  };
}

export type Authenticate = ReturnType<typeof createAuthenticator>;
