import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { CheckedAddress } from './egress.ts';

/** Discovery documents, token answers and key sets are small; a larger answer is not read. */
const MAX_BODY_BYTES = 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * A small fetch for the gateway's own calls (OAuth/OIDC discovery, token, userinfo, JWKS) on node:http, connected to
 * the address egress checked (its `lookup` answers with nothing else) with TLS verified against the hostname.
 * Redirects are returned, never followed. Bodies: string, URLSearchParams or bytes, as openid-client and jose send.
 */
export function pinnedFetch(url: URL, pinned: CheckedAddress, init: RequestInit = {}): Promise<Response> {
  const headers: Record<string, string> = {};
  new Headers(init.headers).forEach((value, name) => {
    headers[name] = value;
  });
  const body = init.body;
  let payload: Buffer | undefined;
  if (typeof body === 'string') payload = Buffer.from(body);
  else if (body instanceof URLSearchParams) {
    payload = Buffer.from(body.toString());
    headers['content-type'] ??= 'application/x-www-form-urlencoded;charset=UTF-8';
  } else if (body instanceof Uint8Array) payload = Buffer.from(body);
  else if (body !== undefined && body !== null) return Promise.reject(new TypeError('unsupported request body'));
  if (payload !== undefined) headers['content-length'] = String(payload.length);
  const signal = init.signal ?? AbortSignal.timeout(DEFAULT_TIMEOUT_MS);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, {
      method: init.method ?? 'GET',
      headers,
      agent: false,
      signal,
      servername: url.hostname.startsWith('[') ? undefined : url.hostname.replace(/\.$/, ''),
      lookup: ((_h: string, o: { all?: boolean }, cb: (...a: unknown[]) => void) => {
        if (o.all === true) cb(null, [{ address: pinned.address, family: pinned.family }]);
        else cb(null, pinned.address, pinned.family);
      }) as never,
    });
    req.on('error', reject);
    req.on('response', (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY_BYTES) {
          res.destroy();
          reject(new Error('answer too large'));
          return;
        }
        chunks.push(c);
      });
      res.on('error', reject);
      res.on('end', () => {
        const out = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          if (value === undefined) continue;
          for (const v of Array.isArray(value) ? value : [value]) out.append(name, v);
        }
        const status = res.statusCode ?? 502;
        const noBody = status === 204 || status === 304 || (init.method ?? 'GET') === 'HEAD';
        resolve(new Response(noBody ? null : Buffer.concat(chunks), { status, statusText: res.statusMessage ?? '', headers: out }));
      });
    });
    req.end(payload);
  });
}
