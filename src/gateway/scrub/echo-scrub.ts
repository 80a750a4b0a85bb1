import { GatehouseError } from '../../errors.ts';
import type { ConnectorRecord } from '../../store/types.ts';
import { noteDetail, type Call } from '../call.ts';
import { scanContent, type Scanned } from '../guardrails/content-scan.ts';
import type { Detector, DetectorKind } from '../guardrails/detectors.ts';

export interface ScrubStageDeps {
  /** The connector a call went to (its record, as the connection holds it), if the organisation has it. */
  readonly connector: (orgId: string, name: string) => ConnectorRecord | undefined;
  /** Its secret values in the clear (upstream/credentials.ts `secrets`). */
  readonly secrets: (connector: ConnectorRecord) => Promise<readonly string[]>;
}

const SCANNED: ReadonlySet<string> = new Set<Scanned>(['tools/call', 'resources/read', 'prompts/get']);
const REDACT: ReadonlySet<DetectorKind> = new Set(['secrets']);
/** Shorter values would be replaced wherever their characters happen to occur; they are not looked for. */
export const MIN_SCRUBBED_LENGTH = 8;
export const SCRUB_RULE = 'connector-credential';

/**
 * What to look for: each secret value of the connector, and the credential inside a value with a scheme
 * (`Bearer <token>`, `Basic <b64>`), each at least MIN_SCRUBBED_LENGTH long.
 */
export function scrubValues(secrets: readonly string[]): string[] {
  const out = new Set<string>();
  for (const s of secrets) {
    if (s.length >= MIN_SCRUBBED_LENGTH) out.add(s);
    const inner = /^[A-Za-z][\w-]*\s+(\S+)$/.exec(s)?.[1];
    if (inner !== undefined && inner.length >= MIN_SCRUBBED_LENGTH) out.add(inner);
  }
  // Longest first: a value that contains another is replaced whole.
  return [...out].sort((a, b) => b.length - a.length);
}

function detectorsOf(values: readonly string[]): Detector[] {
  return values.map((v) => ({ id: SCRUB_RULE, kind: 'secrets', pattern: new RegExp(v.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'), 'g') }));
}

/**
 * Stage `scrub`: a live credential of the connector a call went to - one of its secret headers or environment
 * values - that comes back in the answer is replaced before the client sees it (`[REDACTED:connector-credential]`),
 * whole or in the encodings the guardrails look through (base64, hex, URL-encoding, hidden by invisible
 * characters, split across adjacent content blocks), in text blocks, structuredContent, error results, embedded
 * and read resources and prompt messages. Each replacement is in the call's audit record (`detail.scrub`: where,
 * and how it was encoded; never the value). A connector's values are opened once per version of it and matched as
 * literals; a connector without secrets costs a map lookup. A secret that cannot be opened fails the call: an answer
 * the gateway cannot check is not passed on.
 */
export function createScrubStage(deps: ScrubStageDeps) {
  const compiled = new WeakMap<ConnectorRecord, Promise<readonly Detector[]>>();

  function detectorsFor(c: ConnectorRecord): Promise<readonly Detector[]> {
    let d = compiled.get(c);
    if (d === undefined) {
      d = deps.secrets(c).then(
        (secrets) => detectorsOf(scrubValues(secrets)),
        (err: unknown) => {
          compiled.delete(c);
          throw new GatehouseError('internal', `The credentials of connector '${c.name}' cannot be opened to check its answer`, { cause: err });
        },
      );
      compiled.set(c, d);
    }
    return d;
  }

  return async function scrub(call: Call): Promise<void> {
    const t = call.target;
    const method = call.request?.method;
    if (call.direction !== 'client' || t === undefined || call.result === undefined || method === undefined || !SCANNED.has(method)) return;
    const p = call.principal;
    const connector = p === undefined ? undefined : deps.connector(p.orgId, t.connector);
    // The connector went away while the call ran: its answer cannot be checked, so it is not passed on.
    if (connector === undefined) throw new GatehouseError('upstream_unavailable', `Connector '${t.connector}' is unavailable`);
    const detectors = await detectorsFor(connector);
    if (detectors.length === 0) return;
    const scanned = scanContent(method as Scanned, call.result, detectors, REDACT);
    if (scanned.findings.length === 0) return;
    call.result = scanned.redacted;
    noteDetail(call, 'scrub', { replaced: scanned.findings.map((f) => ({ where: f.where, ...(f.encoding === undefined ? {} : { encoding: f.encoding }) })) });
  };
}
