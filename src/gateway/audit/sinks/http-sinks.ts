import { createHmac } from 'node:crypto';
import type { Secret } from '../../../config/secret.ts';
import type { Egress } from '../../../egress/egress.ts';
import type { AuditRecord } from '../../../store/types.ts';
import { otlpBody, webhookBody } from './format.ts';
import { SinkError, type Sink } from './sink.ts';

const TIMEOUT_MS = 15_000;

/**
 * The webhook's signature: HMAC-SHA-256 under the shared secret of `<timestamp>.<body>`, hex, in
 * `x-gatehouse-signature: sha256=<hex>`. The timestamp (`x-gatehouse-timestamp`, Unix seconds) is signed too, so a
 * receiver can refuse a replayed old delivery.
 */
export function webhookSignature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** Headers naming what a delivery holds: chain, first and last seq, the last record's hash. */
function batchHeaders(chain: string, records: readonly AuditRecord[]): Record<string, string> {
  const first = records[0];
  const last = records.at(-1);
  if (first === undefined || last === undefined) throw new SinkError('an empty batch');
  return {
    'x-gatehouse-chain': chain,
    'x-gatehouse-seq': `${String(first.seq)}-${String(last.seq)}`,
    'x-gatehouse-hash': last.hash,
  };
}

async function post(egress: Egress, url: URL, what: string, headers: Record<string, string>, body: string): Promise<void> {
  let res: Response;
  try {
    res = await egress.fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body, signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (err) {
    throw new SinkError(`${what} is unreachable: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  // A redirect is not followed (egress never does) and counts as a failure like any other non-2xx answer: records
  // are sent again until the receiver takes them, never skipped.
  if (res.status < 200 || res.status > 299) throw new SinkError(`${what} answered ${String(res.status)}`);
}

export function createWebhookSink(deps: { egress: Egress; url: string; secret: Secret }): Sink {
  const url = deps.egress.parse(deps.url);
  return {
    name: 'webhook',
    target: url.origin + url.pathname,
    async deliver(chain, records) {
      const body = webhookBody(chain, records);
      const timestamp = String(Math.floor(Date.now() / 1000));
      await post(deps.egress, url, 'the webhook', {
        ...batchHeaders(chain, records),
        'x-gatehouse-timestamp': timestamp,
        'x-gatehouse-signature': webhookSignature(deps.secret.reveal(), timestamp, body),
      }, body);
    },
    close: () => Promise.resolve(),
  };
}

/** `name=value,name=value` (as OTEL_EXPORTER_OTLP_HEADERS), values percent-decoded. */
export function parseOtlpHeaders(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(',')) {
    if (part.trim() === '') continue;
    const i = part.indexOf('=');
    const name = i <= 0 ? '' : part.slice(0, i).trim().toLowerCase();
    if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(name)) throw new SinkError('each OTLP header must be name=value');
    let value: string;
    try {
      value = decodeURIComponent(part.slice(i + 1).trim());
    } catch {
      throw new SinkError(`the OTLP header ${name} is not percent-encoded correctly`);
    }
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(value)) throw new SinkError(`the OTLP header ${name} has control characters`);
    out[name] = value;
  }
  return out;
}

/** OTLP/HTTP with the JSON encoding to a collector's logs endpoint (`/v1/logs` when the URL names no path). */
export function createOtlpSink(deps: { egress: Egress; url: string; headers: Secret | undefined }): Sink {
  const url = deps.egress.parse(deps.url);
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/v1/logs';
  const headers = deps.headers === undefined ? {} : parseOtlpHeaders(deps.headers.reveal());
  return {
    name: 'otlp',
    target: url.origin + url.pathname,
    async deliver(chain, records) {
      await post(deps.egress, url, 'the OTLP collector', { ...headers, ...batchHeaders(chain, records) }, otlpBody(chain, records));
    },
    close: () => Promise.resolve(),
  };
}
