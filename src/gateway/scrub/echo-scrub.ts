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
  /** OAuth per user: the tokens the call's person holds for the connector now (upstream/oauth/user-tokens.ts). */
  readonly liveTokens?: (connector: ConnectorRecord, userId: string) => readonly string[];
}

/** Per-person tokens change at each refresh: their detectors are kept for the last few hundred token sets only. */
const MAX_LIVE_SETS = 512;

const SCANNED: ReadonlySet<string> = new Set<Scanned>(['tools/call', 'resources/read', 'prompts/get']);
/** An upstream's requests to the client whose text reaches the person or the model behind it. */
const OUTBOUND: ReadonlySet<string> = new Set(['sampling/createMessage', 'elicitation/create']);
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
  // A literal can only be found in a text that includes it: `includes` is the whole check, the expression finds where.
  return values.map((v) => ({ id: SCRUB_RULE, kind: 'secrets', needs: (t) => t.includes(v), pattern: new RegExp(v.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'), 'g') }));
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
/**
 * The echo scrub's uses: the `scrub` stage; `outbound`, the same for an upstream's requests to the client; and
 * `forLog`, which turns what an upstream threw into a loggable object with the connector's credentials replaced in
 * its message and data - the client never sees an upstream's error text, but the operator's log does, and an
 * upstream that echoes its credential into an error would put it there. A connector's detectors are built once per
 * version of its record; once built they are used synchronously (no promise per call).
 */
export function createEchoScrub(deps: ScrubStageDeps) {
  const compiled = new WeakMap<ConnectorRecord, readonly Detector[] | Promise<readonly Detector[]>>();
  const live = new Map<string, readonly Detector[]>();

  /** The detectors of the person's own tokens for the connector (OAuth per user); none for anyone else. */
  function liveDetectors(c: ConnectorRecord, userId: string | null | undefined): readonly Detector[] {
    if (userId === null || userId === undefined || deps.liveTokens === undefined) return [];
    const tokens = deps.liveTokens(c, userId);
    if (tokens.length === 0) return [];
    const key = tokens.join('\n');
    let d = live.get(key);
    if (d === undefined) {
      if (live.size >= MAX_LIVE_SETS) live.clear();
      d = detectorsOf(scrubValues(tokens));
      live.set(key, d);
    }
    return d;
  }

  function detectorsFor(c: ConnectorRecord): readonly Detector[] | Promise<readonly Detector[]> {
    let d = compiled.get(c);
    if (d === undefined) {
      const pending = deps.secrets(c).then(
        (secrets) => {
          const built = detectorsOf(scrubValues(secrets));
          compiled.set(c, built);
          return built;
        },
        (err: unknown) => {
          compiled.delete(c);
          throw new GatehouseError('internal', `The credentials of connector '${c.name}' cannot be opened to check its answer`, { cause: err });
        },
      );
      compiled.set(c, pending);
      d = pending;
    }
    return d;
  }

  function scrubResult(call: Call, method: string, detectors: readonly Detector[]): void {
    if (detectors.length === 0) return;
    const scanned = scanContent(method as Scanned, call.result, detectors, REDACT);
    if (scanned.findings.length === 0) return;
    call.result = scanned.redacted;
    noteDetail(call, 'scrub', { replaced: scanned.findings.map((f) => ({ where: f.where, ...(f.encoding === undefined ? {} : { encoding: f.encoding }) })) });
  }

  function stage(call: Call): void | Promise<void> {
    const t = call.target;
    const method = call.request?.method;
    if (call.direction !== 'client' || t === undefined || call.result === undefined || method === undefined || !SCANNED.has(method)) return;
    const p = call.principal;
    const connector = p === undefined ? undefined : deps.connector(p.orgId, t.connector);
    // The connector went away while the call ran: its answer cannot be checked, so it is not passed on.
    if (connector === undefined) throw new GatehouseError('upstream_unavailable', `Connector '${t.connector}' is unavailable`);
    const detectors = detectorsFor(connector);
    const own = liveDetectors(connector, p?.userId);
    if (detectors instanceof Promise) return detectors.then((d) => { scrubResult(call, method, own.length === 0 ? d : [...d, ...own]); });
    scrubResult(call, method, own.length === 0 ? detectors : [...detectors, ...own]);
  }

  function scrubRequest(call: Call, detectors: readonly Detector[]): void {
    const request = call.request;
    if (detectors.length === 0 || request?.params === undefined) return;
    const scanned = scanContent('params', request.params, detectors, REDACT);
    if (scanned.findings.length === 0) return;
    call.request = { ...request, params: scanned.redacted as Record<string, unknown> };
    noteDetail(call, 'scrub', { replaced: scanned.findings.map((f) => ({ where: f.where, ...(f.encoding === undefined ? {} : { encoding: f.encoding }) })) });
  }

  /**
   * The same for an upstream's request to the client (sampling, elicitation): it is what leaves the gateway, so it is
   * scrubbed before it is sent (a stage of `guard-pre`, which runs in both directions), every string of its params.
   */
  function outbound(call: Call): void | Promise<void> {
    const request = call.request;
    if (call.direction !== 'server' || request === undefined || request.params === undefined || !OUTBOUND.has(request.method)) return;
    const orgId = call.audit.orgId;
    const name = call.audit.connector;
    const connector = orgId === undefined || name === null ? undefined : deps.connector(orgId, name);
    if (connector === undefined) throw new GatehouseError('upstream_unavailable', `Connector '${name ?? '?'}' is unavailable`);
    const detectors = detectorsFor(connector);
    if (detectors instanceof Promise) return detectors.then((d) => { scrubRequest(call, d); });
    scrubRequest(call, detectors);
  }

  /**
   * What an upstream threw, for the log: name, code, and message and data with the connector's credentials replaced
   * (literally; the log is not scanned through encodings). Without a connector, or when its secrets cannot be opened,
   * only the name and code are logged: text that cannot be checked stays out of the log.
   */
  async function forLog(orgId: string | undefined, connectorName: string | undefined, err: unknown): Promise<unknown> {
    if (!(err instanceof Error)) return { type: typeof err };
    if (err instanceof GatehouseError) return err;
    const code = (err as { code?: unknown }).code;
    const bare = { type: err.name, ...(typeof code === 'number' || typeof code === 'string' ? { code } : {}) };
    const connector = orgId === undefined || connectorName === undefined ? undefined : deps.connector(orgId, connectorName);
    if (connector === undefined) return bare;
    let detectors: readonly Detector[];
    try {
      detectors = await detectorsFor(connector);
    } catch {
      return bare;
    }
    const data = (err as { data?: unknown }).data;
    let message = err.message;
    let dataText = data === undefined ? undefined : JSON.stringify(data);
    for (const d of detectors) {
      message = message.replace(d.pattern, `[REDACTED:${SCRUB_RULE}]`);
      if (dataText !== undefined) dataText = dataText.replace(d.pattern, `[REDACTED:${SCRUB_RULE}]`);
    }
    return { ...bare, message, ...(dataText === undefined ? {} : { data: dataText }) };
  }

  return { stage, outbound, forLog };
}
