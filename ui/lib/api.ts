/**
 * The dashboard's only way to the gateway: /api/v1 and /auth on this origin, with the session cookie the browser
 * holds and, for every change, the session's CSRF token. An error carries the gateway's own message, never more.
 */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

let csrfToken = '';
const listeners: (() => void)[] = [];

export function setCsrfToken(token: string): void {
  csrfToken = token;
}

/** Called when the gateway no longer knows the session (ended, expired, idle). */
export function onSignedOut(listener: () => void): void {
  listeners.push(listener);
}

/** Called after every answer, so the session countdown can follow the server's idle clock. */
const activity: (() => void)[] = [];
export function onActivity(listener: () => void): void {
  activity.push(listener);
}

function messageOf(body: unknown, status: number): { code: string; message: string } {
  if (typeof body === 'object' && body !== null && 'error' in body) {
    const e = (body as { error: { code?: unknown; message?: unknown } }).error;
    if (typeof e.code === 'string' && typeof e.message === 'string') return { code: e.code, message: e.message };
  }
  return { code: 'error', message: `The gateway answered ${String(status)}` };
}

export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken !== '') headers['x-csrf-token'] = csrfToken;
  const res = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    cache: 'no-store',
    redirect: 'error',
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  let parsed: unknown = undefined;
  if (text !== '') {
    try {
      parsed = JSON.parse(text) as unknown;
    } catch {
      parsed = undefined;
    }
  }
  if (!res.ok) {
    const { code, message } = messageOf(parsed, res.status);
    if (res.status === 401 && path.startsWith('/api/v1/')) for (const l of listeners) l();
    throw new ApiError(res.status, code, message);
  }
  if (path.startsWith('/api/v1/')) for (const l of activity) l();
  return parsed as T;
}

export const api = {
  get: <T>(path: string) => request<T>('GET', `/api/v1${path}`),
  post: <T>(path: string, body: unknown = {}) => request<T>('POST', `/api/v1${path}`, body),
  put: <T>(path: string, body: unknown) => request<T>('PUT', `/api/v1${path}`, body),
  patch: <T>(path: string, body: unknown) => request<T>('PATCH', `/api/v1${path}`, body),
  del: <T>(path: string) => request<T>('DELETE', `/api/v1${path}`),
};

/** A message fit to show: the gateway's for its refusals, a plain one for a network failure. */
export function describe(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  return 'The gateway could not be reached. Check your connection and try again.';
}
