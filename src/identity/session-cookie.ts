import { createHash, createHmac, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';

/**
 * Browser-session cookies and their CSRF token. `__Host-` makes the browser insist on Secure, Path=/ and no Domain,
 * so no sibling subdomain can plant or read it. Browsers treat http://localhost and http://127.0.0.1 as secure
 * contexts and keep Secure cookies there, so the same cookie works in local development without TLS.
 */
export const SESSION_COOKIE = '__Host-gatehouse-session';
/** Binds an OIDC sign-in in progress to the browser that started it (login CSRF). */
export const OIDC_FLOW_COOKIE = '__Host-gatehouse-oidc';
/** OAuth per user: binds a connect to the browser that started it (gateway/upstream/oauth/user-tokens.ts). */
export const UPSTREAM_CONNECT_COOKIE = '__Host-gatehouse-upstream-connect';
export const CSRF_HEADER = 'x-csrf-token';

/** 256 random bits: the session id the browser holds. The server keeps only its SHA-256. */
export function newSessionToken(): string {
  return randomBytes(32).toString('base64url');
}

/** A plain hash suffices: the token has 256 bits of entropy, so a stolen table cannot be searched for it. */
export function hashSessionToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * Lax rather than Strict: a link to the dashboard from mail or chat should arrive signed in, and the OIDC callback is
 * a cross-site top-level GET that must carry the flow cookie. Cross-site POSTs carry neither, and every state change
 * needs the CSRF token besides.
 */
export function setCookie(name: string, value: string, maxAgeSeconds: number): string {
  return `${name}=${value}; Path=/; Max-Age=${String(Math.max(0, Math.floor(maxAgeSeconds)))}; Secure; HttpOnly; SameSite=Lax`;
}

export function clearCookie(name: string): string {
  return `${name}=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Lax`;
}

/** Cookie header -> values. A name given twice is ambiguous (a planted cookie): neither is believed. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  let found: string | undefined;
  let count = 0;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    count++;
    found = part.slice(eq + 1).trim();
  }
  if (count !== 1 || found === undefined || !/^[A-Za-z0-9_-]{16,128}$/.test(found)) return undefined;
  return found;
}

/**
 * The synchronizer token of a session: an HMAC of its id under a server key, so nothing more is stored and it
 * changes whenever the session id does (at sign-in and step-up). A page on another origin cannot read it.
 */
export function csrfTokenFor(key: KeyObject, sessionToken: string): string {
  return createHmac('sha256', key).update(`csrf/v1:${sessionToken}`).digest('base64url');
}

export function csrfTokenValid(key: KeyObject, sessionToken: string, presented: string | undefined): boolean {
  if (presented === undefined) return false;
  const expected = Buffer.from(csrfTokenFor(key, sessionToken));
  const given = Buffer.from(presented);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export interface FetchMetadata {
  readonly origin?: string | undefined;
  readonly secFetchSite?: string | undefined;
}

/**
 * A second wall for cookie-authenticated changes: what the browser says about where the request came from. Absent
 * headers pass (non-browser clients, older browsers), a foreign origin or a cross-site fetch does not.
 */
export function sameOriginRequest(meta: FetchMetadata, originAllowed: (origin: string | undefined) => boolean): boolean {
  if (meta.secFetchSite !== undefined && meta.secFetchSite !== 'same-origin' && meta.secFetchSite !== 'none') return false;
  if (meta.origin === 'null') return false;
  return originAllowed(meta.origin);
}
