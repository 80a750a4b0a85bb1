import type { KeyObject } from 'node:crypto';
import type { KeyRole, Store } from '../../store/types.ts';
import { boundedRole } from '../access/permissions.ts';
import { compileScopes, type ScopeSet } from '../access/scopes.ts';
import { hashApiKey, isWellFormedApiKey, KEY_PREFIX } from './api-key-format.ts';
import type { TokenFailure, VerifyToken } from './oauth-token.ts';

/** Who is calling: the organisation and credential a request was authenticated as (an API key or an OAuth token). */
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
  /** The networks (CIDR) the credential may be used from; null: wherever the organisation allows. */
  readonly cidrs: readonly string[] | null;
  /** How the audit names the caller: the key, or for a token the issuer and client (keyId) and the subject (user). */
  readonly actor: { readonly keyId: string | null; readonly user: string | null };
}

export type AuthFailure = 'missing' | 'malformed' | 'unknown' | 'revoked' | 'expired' | 'not_a_member' | TokenFailure | 'insufficient_scope';

export type AuthResult =
  | { readonly ok: true; readonly principal: Principal }
  | {
      readonly ok: false;
      readonly reason: AuthFailure;
      readonly orgId?: string;
      readonly keyId?: string;
      /** With insufficient_scope: the token scopes that would do (for the 403's WWW-Authenticate). */
      readonly scope?: string;
    };

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
        actor: { keyId: key.id, user: key.userId },
      },
    };
  };
}

export type Authenticate = ReturnType<typeof createAuthenticator>;
