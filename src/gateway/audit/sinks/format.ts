import { hostname } from 'node:os';
import type { AuditDecision, AuditRecord } from '../../../store/types.ts';

/**
 * What every sink sends is built here, so hostile text in a record (CRLF, ANSI escapes, text that looks like JSON or
 * like syslog framing) reaches the sink as data, never as structure.
 */

/**
 * JSON with every character outside printable ASCII written as \uXXXX: JSON.stringify escapes C0 controls but leaves
 * DEL, C1 controls (U+009B is a terminal's CSI), bidi overrides and line separators as they are. The text parses back
 * to exactly the same strings, so a receiver can recompute each record's hash from it.
 */
export function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The record as `audit export` writes it: every field, in the store's order, hash-verifiable. */
export function recordJson(r: AuditRecord): string {
  return asciiJson(r);
}

/** RFC 5424 facility 13, "log audit". */
const FACILITY = 13;
const SEVERITY: Readonly<Record<AuditDecision, number>> = { allow: 6, deny: 5, error: 3 };
/**
 * RFC 5424 §7.2.2: an SD-ID of one's own is name@<private enterprise number>. 32473 is the number IANA reserves for
 * documentation (RFC 5612); the project has none of its own yet.
 */
export const SD_ID = 'gatehouse@32473';

/** PRINTUSASCII only, at most `max` characters; '-' (the NILVALUE) when nothing is left. */
function header(text: string, max: number): string {
  const kept = text.replace(/[^\x21-\x7e]/g, '').slice(0, max);
  return kept === '' ? '-' : kept;
}

const HOSTNAME = header(hostname(), 255);

/**
 * A PARAM-VALUE (RFC 5424 §6.3.3): '"', '\' and ']' escaped with a backslash. Control characters are not escapable
 * there, so they are replaced by U+FFFD; structured data is for indexing, and MSG carries the exact record.
 */
export function sdValue(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '\uFFFD').replace(/["\\\]]/g, (c) => `\\${c}`);
}

/**
 * One RFC 5424 message: the seq, chain and hash (for de-duplication and verification) and a few fields to index in
 * structured data; the whole record as ASCII JSON in MSG (so MSG needs no BOM, RFC 5424 §6.4).
 */
export function syslogMessage(r: AuditRecord, procId = process.pid): string {
  const pri = FACILITY * 8 + SEVERITY[r.decision];
  const params: [string, string | number | null][] = [
    ['seq', r.seq],
    ['chain', r.orgId],
    ['hash', r.hash],
    ['prevHash', r.prevHash],
    ['decision', r.decision],
    ['action', r.action],
    ['target', r.targetName],
    ['correlationId', r.correlationId],
  ];
  const sd = params
    .filter((p): p is [string, string | number] => p[1] !== null)
    .map(([name, value]) => ` ${name}="${sdValue(String(value))}"`)
    .join('');
  return `<${pri}>1 ${r.ts} ${HOSTNAME} gatehouse ${procId} audit [${SD_ID}${sd}] ${recordJson(r)}`;
}

/** RFC 5425 §4.3 / RFC 6587 §3.4.1 octet counting: MSG-LEN SP SYSLOG-MSG, the length in bytes. */
export function octetFrame(message: string): string {
  return `${Buffer.byteLength(message, 'utf8')} ${message}`;
}

/** The webhook's body: one chain's records, consecutive, in seq order. */
export function webhookBody(chain: string, records: readonly AuditRecord[]): string {
  return `{"chain":${asciiJson(chain)},"records":[${records.map(recordJson).join(',')}]}`;
}

type AnyValue = { stringValue: string } | { intValue: string } | { doubleValue: number };
const attribute = (key: string, value: AnyValue) => ({ key, value });
const str = (s: string) => ({ stringValue: s });

/** OTLP severity numbers (logs data model): INFO 9, WARN 13, ERROR 17. */
const OTLP_SEVERITY: Readonly<Record<AuditDecision, [number, string]>> = { allow: [9, 'INFO'], deny: [13, 'WARN'], error: [17, 'ERROR'] };

/**
 * An OTLP/HTTP JSON ExportLogsServiceRequest (opentelemetry-proto, JSON encoding: 64-bit integers as decimal
 * strings): one log record per audit record, its body the record's JSON, its attributes the fields to index.
 */
export function otlpBody(chain: string, records: readonly AuditRecord[], serviceName = 'gatehouse'): string {
  const logRecords = records.map((r) => {
    const [severityNumber, severityText] = OTLP_SEVERITY[r.decision];
    const attributes = [
      attribute('gatehouse.audit.seq', { intValue: String(r.seq) }),
      attribute('gatehouse.audit.chain', str(r.orgId)),
      attribute('gatehouse.audit.hash', str(r.hash)),
      attribute('gatehouse.audit.prev_hash', str(r.prevHash)),
      attribute('gatehouse.audit.action', str(r.action)),
      attribute('gatehouse.audit.decision', str(r.decision)),
    ];
    if (r.reason !== null) attributes.push(attribute('gatehouse.audit.reason', str(r.reason)));
    if (r.correlationId !== null) attributes.push(attribute('gatehouse.audit.correlation_id', str(r.correlationId)));
    return {
      timeUnixNano: `${String(Date.parse(r.ts))}000000`,
      severityNumber,
      severityText,
      body: str(JSON.stringify(r)),
      attributes,
    };
  });
  return asciiJson({
    resourceLogs: [
      {
        resource: { attributes: [attribute('service.name', str(serviceName)), attribute('gatehouse.audit.chain', str(chain))] },
        scopeLogs: [{ scope: { name: 'gatehouse.audit' }, logRecords }],
      },
    ],
  });
}
