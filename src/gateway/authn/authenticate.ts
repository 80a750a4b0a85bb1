import type { KeyObject } from 'node:crypto';
import { compileAllowlist } from '../../cidr.ts';
import type { ApiKeyRecord, KeyRole, Store } from '../../store/types.ts';
import { boundedRole } from '../access/permissions.ts';
import { compileScopes } from '../access/scopes.ts';
import { hashApiKey, isWellFormedApiKey, KEY_PREFIX } from './api-key-format.ts';
import type { AuthResult, Principal } from '../principal.ts';
import type { VerifyToken } from './oauth-token.ts';

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** A key as last read from the store: its record and what it resolved to (the user's membership bounds its role). */
interface KnownKey {
  readonly key: ApiKeyRecord;
  /** What it is worth, or why it is refused (revoked; its user no longer a member). */
  readonly principal: Principal | { readonly refused: 'revoked' | 'not_a_member' };
}

/** How many keys are kept between revisions; beyond it the cache starts again (only keys that exist are kept). */
const MAX_KNOWN_KEYS = 10_000;

/**
 * Bearer authentication. A `gth_` API key is checked for shape and checksum first (no lookup for garbage), then
 * found by its keyed hash. What a key resolves to (its record, its user's membership, its compiled scopes and CIDRs)
 * is kept in memory for as long as the store's access revision stays where it was; every request reads that one
 * counter, which moves with any change to keys or memberships by any process or replica, so a revocation or a
 * demotion applies to the very next request of any open session. Expiry, and the end of a rotated key's overlap
 * (retiresAt), are checked on every request. Anything shaped
 * like a JWT is an OAuth access token from an organisation's IdP, verified in full on every request. Every failure
 * looks the same to the client; the reason is for the audit record.
 */
export function createAuthenticator(deps: { store: Pick<Store, 'findApiKeyByHash' | 'getMember' | 'accessRevision'>; pepper: KeyObject; verifyToken?: VerifyToken }) {
  let revision: number | undefined;
  let known = new Map<string, KnownKey>();

  async function resolve(hash: string): Promise<KnownKey | undefined> {
    const key = await deps.store.findApiKeyByHash(hash);
    if (key === undefined) return undefined;
    if (key.revokedAt !== null) return { key, principal: { refused: 'revoked' } };
    let role: KeyRole | undefined = key.role;
    if (key.userId !== null) {
      // A key acting for a user is worth no more than the user's membership.
      const member = await deps.store.getMember(key.orgId, key.userId);
      role = member === undefined ? undefined : boundedRole(key.role, member.role);
      if (role === undefined) return { key, principal: { refused: 'not_a_member' } };
    }
    return {
      key,
      principal: {
        orgId: key.orgId,
        keyId: key.id,
        keyName: key.name,
        role,
        userId: key.userId,
        scopes: compileScopes(key.scopes),
        scopeList: key.scopes,
        servers: key.servers,
        // A key being replaced is worth no more than its remaining overlap: what it creates cannot outlive it.
        expiresAt: earliest(key.expiresAt, key.retiresAt),
        cidrs: key.cidrs,
        network: key.cidrs === null ? null : compileAllowlist(key.cidrs),
        actor: { keyId: key.id, user: key.userId },
      },
    };
  }

  return async function authenticate(authorization: string | undefined, now: number, server: string | null = null): Promise<AuthResult> {
    if (authorization === undefined || authorization === '') return { ok: false, reason: 'missing' };
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization);
    const token = match?.[1];
    if (token !== undefined && !token.startsWith(KEY_PREFIX) && JWT_SHAPE.test(token) && deps.verifyToken !== undefined) {
      return deps.verifyToken(token, server, now);
    }
    if (token === undefined || !isWellFormedApiKey(token)) return { ok: false, reason: 'malformed' };
    const hash = hashApiKey(token, deps.pepper);
    // Read before the rows: what is then loaded is at least as new as the revision it is kept under.
    const current = await deps.store.accessRevision();
    if (current !== revision) {
      known = new Map();
      revision = current;
    }
    let entry = known.get(hash);
    if (entry === undefined) {
      entry = await resolve(hash);
      if (entry === undefined) return { ok: false, reason: 'unknown' };
      if (known.size >= MAX_KNOWN_KEYS) known = new Map();
      if (revision === current) known.set(hash, entry);
    }
    const { key, principal } = entry;
    if ('refused' in principal) return { ok: false, reason: principal.refused, orgId: key.orgId, keyId: key.id };
    // A key rotated with an overlap stops at retiresAt exactly as a revoked key does, however long it has been cached.
    if (key.retiresAt !== null && Date.parse(key.retiresAt) <= now) return { ok: false, reason: 'revoked', orgId: key.orgId, keyId: key.id };
    if (key.expiresAt !== null && Date.parse(key.expiresAt) <= now) return { ok: false, reason: 'expired', orgId: key.orgId, keyId: key.id };
    return { ok: true, principal, revision: current };
  };
}

export type Authenticate = ReturnType<typeof createAuthenticator>;

function earliest(a: string | null, b: string | null): string | null {
  if (a === null) return b;
  if (b === null) return a;
  return Date.parse(a) <= Date.parse(b) ? a : b;
}
