import { GatehouseError } from '../errors.ts';
import type { CatalogView, Entry } from './catalog/catalog.ts';
import type { Principal } from './principal.ts';
import type { JsonRpcRequest } from './protocol.ts';
import type { ForwardOptions, Forwarder } from './upstream/connection.ts';
import type { Span } from '../telemetry/tracing.ts';

/**
 * The per-call context the pipeline's stages share (they never call each other). The listener creates one for each
 * request a client sends (each member of a batch is its own), the session bridge one for each request an upstream
 * sends to a client; the stages fill it in; the runner writes its audit record and then lets the transport answer.
 */
export interface Call {
  /** `client`: a client's request on its way to an upstream. `server`: an upstream's request to the client. */
  readonly direction: 'client' | 'server';
  readonly correlationId: string;
  readonly clientIp: string | null;
  readonly started: number;
  /** The endpoint: null for /mcp, the virtual server's name for /servers/{name}/mcp. */
  readonly server: string | null;
  /** `METHOD /path` of the HTTP request, for the records of refusals that come before the JSON-RPC request is read. */
  readonly requestLine: string;
  /** The Authorization header as sent. */
  readonly authorization: string | undefined;
  /** The Idempotency-Key header as sent (requests of a batch carry theirs in `_meta` only). */
  readonly idempotencyKey?: string | undefined;
  /** The only code that knows how this call arrived and how it is answered. */
  readonly transport: Transport;
  signal: AbortSignal;
  principal?: Principal;
  /** The store's access revision authentication checked the principal against, so the network stage need not read it. */
  accessRevision?: number;
  /** The catalog this endpoint serves the principal. */
  view?: CatalogView;
  /** The JSON-RPC request, once the transport has read one. */
  request?: JsonRpcRequest;
  /** The protocol version the request speaks: its session's, or a stateless (2026-07-28) request's own envelope's. */
  protocolVersion?: string;
  /** The session's state, for requests inside a session. */
  session?: SessionOps;
  /** The method table's entry for the request's method. */
  spec?: MethodSpec;
  /** What the request resolved to: the connector and the upstream's own name or URI. */
  target?: Target;
  /** The params as the upstream receives them (names and URIs translated back). */
  upstreamParams?: Record<string, unknown>;
  /**
   * Set when the request is answered without its upstream: by the transport when it takes the request itself (a
   * notification, a response to the gateway's own request), or by the idempotency stage replaying a stored answer.
   */
  local?: () => unknown;
  /** For server-to-client requests: asks the client (the transport's forward). */
  ask?: () => Promise<Record<string, unknown>>;
  onProgress?: ForwardOptions['onProgress'];
  /** Told which connector the request resolved to, before it is forwarded (messages of that call travel with it). */
  onTarget?: (connector: string) => void;
  /** The batch's members, when the transport read a batch: each runs the rest of the path as a call of its own. */
  members?: Call[];
  /**
   * Run by the runner once the stages are done, however the call ended, before its audit record: for a stage that
   * must see the answer (idempotency stores it). They handle their own failures.
   */
  onSettled?: (() => Promise<void>)[];
  result?: unknown;
  failure?: GatehouseError;
  /** The stage the call failed in. */
  failedAt?: string;
  /** A WWW-Authenticate challenge for a refusal of the credential. */
  challenge?: string;
  /** The facts the audit record is built from. */
  readonly audit: CallAudit;
  /** Tracing on: the call's span (a batch's members, copied from it, start theirs under it). */
  traceSpan?: Span;
  /** Tracing on: the W3C traceparent of the forward stage's span, for connectors that opted in to receive it. */
  traceparent?: string;
}

export interface CallAudit {
  /** The chain: the principal's organisation, or an unauthenticated caller's if the key named one. */
  orgId: string | undefined;
  actor: { readonly keyId: string | null; readonly user: string | null } | undefined;
  action: string;
  connector: string | null;
  name: string | null;
  args: string | null;
  reason: string | null;
  /**
   * What the stages found and decided beyond the decision, by stage (`guard`, `policy`, `limit`, `idempotency`, ...):
   * rule names and places, never matched values. Written into the record's `detail`; add with `noteDetail`.
   */
  detail: Record<string, unknown> | undefined;
  /**
   * Set by a limit for a refusal inside a flood: its record is not written, it is counted into the one aggregated
   * record of its window instead (traffic/refusal-audit.ts).
   */
  suppressed?: boolean;
}

/** How a request arrived and how it is answered: the listener's part of the path. */
export interface Transport {
  /** Media types, body limits, JSON, the session or the 2026-07-28 envelope: sets `call.request`, or `call.local`. */
  receive(call: Call): Promise<void> | void;
  /** Checks that need the resolved target, once access allowed it (2026-07-28's Mcp-Param-* headers). */
  admitted?(call: Call): void;
  /** Told of the answer before the audit record is written, for what must happen with it (initialize makes a session). */
  answered?(call: Call): void;
  /** Answers the client with `call.result` or `call.failure`, after the audit record is written. */
  respond(call: Call): void;
}

/** What the pipeline may ask of the session a request belongs to. */
export interface SessionOps {
  /** The connection to forward on: the session's own where it needs one, the shared one otherwise. */
  upstream(connector: string): Promise<Forwarder | undefined>;
  setLogLevel(level: string): Promise<void>;
  /** Forwards a resources/(un)subscribe on the session's own connection and remembers it. */
  subscribe(connector: string, uri: string, on: boolean): Promise<void>;
  /**
   * Asks the person behind the session (elicitation/create) on the gateway's own behalf; present only when the
   * session's client declared elicitation. `connector` names the call the question belongs to.
   */
  readonly elicit?: (params: Record<string, unknown>, connector: string, signal: AbortSignal) => Promise<Record<string, unknown>>;
}

export type Target =
  | { readonly kind: 'tool'; readonly connector: string; readonly original: string; readonly entry: Entry<{ inputSchema?: unknown }> }
  | { readonly kind: 'prompt'; readonly connector: string; readonly original: string }
  | { readonly kind: 'resource'; readonly connector: string; readonly original: string };

/** One row of the method table (pipeline.ts). */
export interface MethodSpec {
  /** How the request finds its target in the endpoint's view. */
  readonly target: 'tool' | 'prompt' | 'resource' | 'completion' | 'none';
  /** Who answers: the gateway itself, the session (its own state and connections), or the target's upstream. */
  readonly answer: 'gateway' | 'session' | 'upstream';
  /** Whether the guardrail stages look at it (what goes in and what comes back of tools, prompts and resources). */
  readonly guarded: boolean;
}

/**
 * A target that is not there and one the principal may not use are answered alike, so a scoped key cannot probe the
 * rest of the catalog; which it was is for the audit record (`invalid_params:unknown` or `invalid_params:scope`).
 */
export function unknownTarget(kind: Target['kind'], requested: string, reason: 'unknown' | 'scope'): GatehouseError {
  const message = kind === 'tool' ? `Unknown tool: ${clip(requested)}` : kind === 'prompt' ? `Unknown prompt: ${clip(requested)}` : 'Resource not found';
  return new GatehouseError('invalid_params', message, { data: { reason } });
}

function clip(s: string): string {
  return s.length > 128 ? s.slice(0, 128) + '…' : s;
}

export function newAuditFacts(action: string): CallAudit {
  return { orgId: undefined, actor: undefined, action, connector: null, name: null, args: null, reason: null, detail: undefined };
}

/** Adds one stage's facts to the call's audit detail (a stage writes under its own key). */
export function noteDetail(call: Call, key: string, value: unknown): void {
  (call.audit.detail ??= {})[key] = value;
}
