import type { KeyObject } from 'node:crypto';
import type { CookieRequest } from '../control-plane.ts';
import { GatehouseError } from '../errors.ts';
import type { SessionFailure, SessionPrincipal, Sessions } from '../identity/browser-session.ts';
import { csrfTokenValid, readCookie, sameOriginRequest, SESSION_COOKIE } from '../identity/session-cookie.ts';
import type { Actor } from '../services/context.ts';

export type CookieAuthResult =
  | { readonly ok: true; readonly principal: SessionPrincipal }
  | {
      readonly ok: false;
      readonly error: GatehouseError;
      readonly reason: SessionFailure | 'csrf' | 'ip_not_allowed';
      readonly orgId?: string;
      readonly userId?: string;
    };

export interface CookieAuthDeps {
  readonly sessions: Sessions;
  readonly csrfKey: KeyObject;
  readonly originAllowed: (origin: string | undefined) => boolean;
  /**
   * Whether the organisation's `api` allowlist (if any) admits the address: a session is for the dashboard and admin
   * API, so it is usable only from there. Rejects when it cannot tell (fail closed). Absent: no network rules.
   */
  readonly networkAllowed: (orgId: string, ip: string | null) => Promise<boolean>;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
// 403: the session is good, so signing in again would not help; which list refused is for the audit record.
export const NETWORK_REFUSED = new GatehouseError('forbidden', 'Not allowed from this network');
export const CSRF_REFUSED = new GatehouseError('forbidden', 'This change needs the session CSRF token (x-csrf-token) and a same-origin request');

/** How a refused session is audited: the action and reason the audit record names. */
export function refusalOf(r: Extract<CookieAuthResult, { ok: false }>): { action: string; reason: string } {
  if (r.reason === 'ip_not_allowed') return { action: 'auth.network', reason: r.reason };
  return { action: r.reason === 'csrf' ? 'auth.csrf' : 'auth.failed', reason: `session_${r.reason}` };
}

/** Whether the request carries a session cookie at all (Bearer keys win when both are sent). */
export function hasSessionCookie(req: Pick<CookieRequest, 'cookie'>): boolean {
  return readCookie(req.cookie, SESSION_COOKIE) !== undefined;
}

/**
 * Authenticates a browser session and, for anything but a safe method, its CSRF token and fetch metadata. A partial
 * session (second factor owed) passes only where `allowPartial` says so: the /auth steps that complete it.
 */
export async function authenticateCookie(deps: CookieAuthDeps, req: CookieRequest, options: { allowPartial?: boolean } = {}): Promise<CookieAuthResult> {
  const token = readCookie(req.cookie, SESSION_COOKIE);
  const result = await deps.sessions.authenticate(token, options);
  if (!result.ok) {
    const error =
      result.reason === 'mfa_required'
        ? new GatehouseError('unauthenticated', 'A second factor is required: complete sign-in at /auth')
        : new GatehouseError('unauthenticated', 'Authentication required');
    return { ok: false, error, reason: result.reason, ...(result.orgId === undefined ? {} : { orgId: result.orgId }), ...(result.userId === undefined ? {} : { userId: result.userId }) };
  }
  const p = result.principal;
  // After authentication: only then is the organisation, and so its allowlist, known.
  if (!(await deps.networkAllowed(p.orgId, req.clientIp))) {
    return { ok: false, error: NETWORK_REFUSED, reason: 'ip_not_allowed', orgId: p.orgId, userId: p.userId };
  }
  if (!SAFE_METHODS.has(req.method)) {
    const fromHere = sameOriginRequest({ origin: req.origin, secFetchSite: req.secFetchSite }, deps.originAllowed);
    if (!fromHere || !csrfTokenValid(deps.csrfKey, p.token, req.csrfToken)) {
      return { ok: false, error: CSRF_REFUSED, reason: 'csrf', orgId: p.orgId, userId: p.userId };
    }
  }
  return result;
}

/** A person in a browser acts with their membership's role and, like their own keys, on the whole catalog (no virtual-server restriction). */
export function sessionActor(p: SessionPrincipal, req: Pick<CookieRequest, 'clientIp' | 'correlationId'>): Actor {
  return {
    via: 'session',
    role: p.role,
    orgId: p.orgId,
    userId: p.userId,
    keyId: null,
    scopes: ['*'],
    servers: null,
    cidrs: null,
    expiresAt: null,
    name: p.userId,
    clientIp: req.clientIp,
    correlationId: req.correlationId,
  };
}
