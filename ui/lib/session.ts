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
  readonly csrfToken: string;
}

type Permissions = Record<string, readonly string[]>;
let table: Permissions = {};
let current: Session | undefined;

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

/** When the session ends: the earlier of its idle end and its absolute end. */
export function endsAt(s: Session): number {
  return Math.min(Date.parse(s.idleExpiresAt), Date.parse(s.expiresAt));
}
