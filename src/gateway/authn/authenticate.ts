import type { KeyObject } from 'node:crypto';
import type { KeyRole, Store } from '../../store/types.ts';
import { compileScopes, type ScopeSet } from '../access/scopes.ts';
import { hashApiKey, isWellFormedApiKey } from './api-key-format.ts';

/** Who is calling: the organisation and key a request was authenticated as. */
export interface Principal {
  readonly orgId: string;
  readonly keyId: string;
  readonly keyName: string;
  readonly role: KeyRole;
  readonly scopes: ScopeSet;
  /** The virtual servers the key is restricted to; null when it may use /mcp and every virtual server. */
  readonly servers: readonly string[] | null;
  /** The networks (CIDR) the credential may be used from; null: wherever the organisation allows. */
  readonly cidrs: readonly string[] | null;
}

export type AuthFailure = 'missing' | 'malformed' | 'unknown' | 'revoked' | 'expired';

export type AuthResult =
  | { readonly ok: true; readonly principal: Principal }
  | { readonly ok: false; readonly reason: AuthFailure; readonly orgId?: string; readonly keyId?: string };

/**
 * API-key authentication. The key is checked for shape and checksum first (no lookup for garbage), then looked up
 * by its keyed hash on every request, so a revocation applies to the very next request of any open session.
 * Every failure looks the same to the client; the reason is for the audit record.
 */
export function createAuthenticator(deps: { store: Pick<Store, 'findApiKeyByHash'>; pepper: KeyObject }) {
  return async function authenticate(authorization: string | undefined, now: number): Promise<AuthResult> {
    if (authorization === undefined || authorization === '') return { ok: false, reason: 'missing' };
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization);
    const token = match?.[1];
    if (token === undefined || !isWellFormedApiKey(token)) return { ok: false, reason: 'malformed' };
    const key = await deps.store.findApiKeyByHash(hashApiKey(token, deps.pepper));
    if (key === undefined) return { ok: false, reason: 'unknown' };
    if (key.revokedAt !== null) return { ok: false, reason: 'revoked', orgId: key.orgId, keyId: key.id };
    if (key.expiresAt !== null && Date.parse(key.expiresAt) <= now) return { ok: false, reason: 'expired', orgId: key.orgId, keyId: key.id };
    return {
      ok: true,
      principal: { orgId: key.orgId, keyId: key.id, keyName: key.name, role: key.role, scopes: compileScopes(key.scopes), servers: key.servers,
        cidrs: key.cidrs },
    };
  };
}

export type Authenticate = ReturnType<typeof createAuthenticator>;
