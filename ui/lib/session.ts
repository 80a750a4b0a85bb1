import { request, setCsrfToken } from './api.ts';

export interface Session {
  readonly orgId: string;
  readonly userId: string;
  readonly role: string;
  readonly stage: 'full' | 'partial';
  readonly mfa: boolean;
  readonly method: string;
  readonly expiresAt: string;
  readonly idleExpiresAt: string;
  /** The gateway's time when it answered. */
  readonly now?: string;
  readonly csrfToken: string;
}

type Permissions = Record<string, readonly string[]>;
let table: Permissions = {};
let current: Session | undefined;
/** The gateway's clock minus the browser's, as of the last answer about the session (0 when unknown). */
let skew = 0;

/** The gateway's own permission table: what the pages offer follows it, and the API still decides. */
export async function loadPermissions(): Promise<void> {
  const res = await fetch('/ui/permissions.json', { credentials: 'same-origin' });
  table = (await res.json()) as Permissions;
}

export function can(action: string): boolean {
  return current !== undefined && (table[action] ?? []).includes(current.role);
}

export function session(): Session | undefined {
  return current;
}

/** Asks the gateway who this browser is; undefined when it holds no session the gateway knows. */
export async function refreshSession(): Promise<Session | undefined> {
  try {
    current = await request<Session>('GET', '/auth/session');
    const serverNow = current.now === undefined ? Number.NaN : Date.parse(current.now);
    skew = Number.isNaN(serverNow) ? 0 : serverNow - Date.now();
    setCsrfToken(current.csrfToken);
  } catch {
    current = undefined;
    setCsrfToken('');
  }
  return current;
}

export function adoptCsrf(token: string): void {
  setCsrfToken(token);
}

export function forget(): void {
  current = undefined;
  setCsrfToken('');
}

/**
 * When the session ends, on the browser's clock: the earlier of its idle end and its absolute end, both set by the
 * gateway's clock, moved by the difference between the two clocks (a browser whose clock is wrong by minutes would
 * otherwise warn too early or too late).
 */
export function endsAt(s: Session): number {
  return Math.min(Date.parse(s.idleExpiresAt), Date.parse(s.expiresAt)) - skew;
}
