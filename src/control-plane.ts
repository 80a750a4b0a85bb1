/**
 * The shapes the listener translates HTTP to and from for the admin API, /auth and SCIM: framework-neutral, so the
 * listener (the only code that knows node:http) and the admin plane meet here without either importing the other.
 */

/**
 * The admin API's view of an HTTP request: what the listener read from node:http, and nothing of node:http itself.
 * The body is read only when a route wants one.
 */
export interface ApiRequest {
  readonly method: string;
  /** The path below /api/v1, e.g. `/keys/key_abc`. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly authorization: string | undefined;
  /** The Idempotency-Key header: a POST retried with the same key is answered once (admin/idempotency.ts). */
  readonly idempotencyKey?: string | undefined;
  readonly contentType: string | undefined;
  readonly clientIp: string | null;
  readonly correlationId: string;
  /** For browser sessions: the Cookie header, the CSRF header and the fetch metadata. */
  readonly cookie?: string | undefined;
  readonly csrfToken?: string | undefined;
  readonly origin?: string | undefined;
  readonly secFetchSite?: string | undefined;
  readBody(): Promise<string>;
}

export type ApiResponse =
  | { readonly status: number; readonly body?: unknown; readonly headers?: Readonly<Record<string, string>> }
  | { readonly status: number; readonly stream: AsyncIterable<string>; readonly contentType: string };

/** What cookie authentication reads from a request, whichever endpoint it came to. */
export interface CookieRequest {
  readonly method: string;
  readonly cookie?: string | undefined;
  readonly csrfToken?: string | undefined;
  readonly origin?: string | undefined;
  readonly secFetchSite?: string | undefined;
  readonly clientIp: string | null;
  readonly correlationId: string;
}

/** The listener's view of a request to /auth/..., as for the admin API: no node:http in here. */
export interface AuthRequest extends CookieRequest {
  /** The path below /auth, e.g. `/login`. */
  readonly path: string;
  readonly rawQuery: string;
  readonly userAgent: string | undefined;
  /** What the caller takes: a browser navigating asks for text/html and is sent back to a page instead of JSON. */
  readonly accept?: string | undefined;
  readonly contentType: string | undefined;
  /** This gateway's own origin as the browser sees it (public URL, or the checked Host), for OIDC redirect URIs. */
  readonly baseUrl: string;
  readBody(): Promise<string>;
}

export interface AuthResponse {
  readonly status: number;
  readonly body?: unknown;
  readonly location?: string;
  readonly cookies?: readonly string[];
}
