import type { KeyRole } from '../store/types.ts';
import type { Allowlist } from '../cidr.ts';
import type { ScopeSet } from './access/scopes.ts';
import type { TokenFailure } from './authn/oauth-token.ts';

/**
 * Who is calling: the organisation and credential a request was authenticated as (an API key or an OAuth token).
 * Authentication produces it and access decides on it; neither imports the other.
 */
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
  /** `cidrs` compiled once, when the principal is built; null like `cidrs`. */
  readonly network: Allowlist | null;
  /** How the audit names the caller: the key, or for a token the issuer and client (keyId) and the subject (user). */
  readonly actor: { readonly keyId: string | null; readonly user: string | null };
}

export type AuthFailure = 'missing' | 'malformed' | 'unknown' | 'revoked' | 'expired' | 'not_a_member' | TokenFailure | 'insufficient_scope';

export type AuthResult =
  /** `revision`: the store's access revision the principal was checked against (for the network rules), if read. */
  | { readonly ok: true; readonly principal: Principal; readonly revision?: number }
  | {
      readonly ok: false;
      readonly reason: AuthFailure;
      readonly orgId?: string;
      readonly keyId?: string;
      /** With insufficient_scope: the token scopes that would do (for the 403's WWW-Authenticate). */
      readonly scope?: string;
    };
