import type { ServerResponse } from 'node:http';
import { describeError, type GatehouseError } from '../../errors.ts';
import type { RequestId } from '../protocol.ts';
import { refusalHeaders } from '../traffic/rate-limited.ts';

/**
 * Headers every response carries, on every route, errors included. HSTS is sent over plain HTTP too: browsers
 * ignore it there, and it then reaches them through a TLS-terminating proxy in front. `Vary: Origin` is on every
 * answer because CORS answers differ by Origin and a cache in between must not mix them. A route that serves pages
 * (the dashboard) may replace the CSP with its own by setting `content-security-policy` in its answer's headers.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=()',
  'cross-origin-resource-policy': 'same-origin',
  vary: 'Origin',
});

/**
 * The security headers as raw header lines, for the answers node:http writes before any route runs (a request it
 * cannot parse, a method it does not know): computed once.
 */
export const SECURITY_HEADER_LINES = Object.entries(SECURITY_HEADERS)
  .map(([k, v]) => `${k}: ${v}\r\n`)
  .join('');

/** A route's own headers over the common ones; names are compared in lower case, so a route's CSP replaces ours. */
export function withRouteHeaders(base: Record<string, string>, own: Readonly<Record<string, string>> | undefined): Record<string, string> {
  if (own === undefined) return base;
  const merged = { ...base };
  for (const [k, v] of Object.entries(own)) merged[k.toLowerCase()] = v;
  return merged;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string>): void {
  const text = JSON.stringify(body);
  // A content-type among the headers wins (SCIM answers application/scim+json).
  res.writeHead(status, { 'content-type': 'application/json', ...headers, 'content-length': String(Buffer.byteLength(text)) });
  res.end(text);
}

export function rpcError(id: RequestId | null, err: GatehouseError, correlationId?: string): unknown {
  const { rpcCode } = describeError(err.code);
  // `data.client` is what a refusal tells the client beyond its message (an approval's id); the rest of `data` is
  // for the gateway's own use (audit reasons, response headers).
  const told = err.data?.client;
  const extra = typeof told === 'object' && told !== null ? (told as Record<string, unknown>) : undefined;
  const data = correlationId === undefined && extra === undefined ? undefined : { ...extra, ...(correlationId === undefined ? {} : { correlationId }) };
  return { jsonrpc: '2.0', id, error: { code: rpcCode, message: err.message, ...(data === undefined ? {} : { data }) } };
}

/** An HTTP-level failure: the status from the one error map and a JSON-RPC error body with id null. */
export function sendHttpError(res: ServerResponse, err: GatehouseError, headers: Record<string, string>, correlationId?: string): number {
  const { httpStatus } = describeError(err.code);
  const extra = refusalHeaders(err);
  sendJson(res, httpStatus, rpcError(null, err, correlationId), extra === undefined ? headers : { ...headers, ...extra });
  return httpStatus;
}

/**
 * How a JSON-RPC answer that is not (yet) a stream goes out: 200, except a rate-limit refusal, which is HTTP 429
 * with its Retry-After and RateLimit headers (inside a stream or a batch it can only be the JSON-RPC error).
 */
export function plainAnswer(refusal: GatehouseError | undefined): { readonly status: number; readonly headers: Readonly<Record<string, string>> } {
  const extra = refusal === undefined ? undefined : refusalHeaders(refusal);
  return extra === undefined ? OK : { status: describeError('rate_limited').httpStatus, headers: extra };
}
const OK = Object.freeze({ status: 200, headers: Object.freeze({}) });
