import { GatehouseError } from '../../errors.ts';
import type { LimitSpec } from '../../limit-spec.ts';
import type { TakeResult } from './gcra.ts';

/** Which limit refused: the names the RateLimit headers and the audit record (`rate_limited:<name>`) carry. */
export type LimitName = 'address' | 'auth' | 'key' | 'org' | 'org_address' | 'tool';

/**
 * The refusal a client sees: HTTP 429 with `Retry-After` and the IETF RateLimit headers
 * (draft-ietf-httpapi-ratelimit-headers-11: `RateLimit-Policy: "key";q=5;w=1`, `RateLimit: "key";r=0;t=1`), or the
 * same code as a JSON-RPC error inside a stream or a batch. The listener copies `data.headers` onto the response.
 */
export function rateLimited(name: LimitName, spec: LimitSpec, r: TakeResult): GatehouseError {
  const retryAfter = Math.max(1, Math.ceil(r.retryAfterMs / 1000));
  const windowSeconds = Math.max(1, Math.round(spec.periodMs / 1000));
  return new GatehouseError('rate_limited', 'Rate limit exceeded; retry later', {
    data: {
      reason: name,
      headers: {
        'retry-after': String(retryAfter),
        'ratelimit-policy': `"${name}";q=${String(spec.rate)};w=${String(windowSeconds)}`,
        ratelimit: `"${name}";r=${String(r.remaining)};t=${String(retryAfter)}`,
      },
    },
  });
}

/** The response headers a refusal carries (rate_limited's), or none. */
export function refusalHeaders(e: GatehouseError): Readonly<Record<string, string>> | undefined {
  const h = e.data?.headers;
  if (e.code !== 'rate_limited' || typeof h !== 'object' || h === null) return undefined;
  return h as Record<string, string>;
}
