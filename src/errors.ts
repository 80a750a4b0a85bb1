/**
 * One error hierarchy for the whole gateway. Every failure a client can see is a GatehouseError with a code;
 * `describeError` is the single place that turns a code into an HTTP status and a JSON-RPC error. Messages are
 * written for clients: they never carry stacks, SQL, upstream text, hostnames or secrets. The original error is
 * kept as `cause` for the log only.
 */
export type ErrorCode =
  | 'unauthenticated'
  | 'forbidden'
  | 'origin_forbidden'
  | 'not_found'
  | 'session_not_found'
  | 'session_required'
  | 'bad_request'
  | 'parse_error'
  | 'invalid_request'
  | 'batch_unsupported'
  | 'method_not_found'
  | 'invalid_params'
  | 'unsupported_protocol_version'
  // MCP 2026-07-28 (stateless requests): the refusals that revision defines its own codes and statuses for.
  | 'unsupported_revision'
  | 'header_mismatch'
  | 'invalid_envelope'
  | 'unknown_method'
  | 'not_acceptable'
  | 'unsupported_media_type'
  | 'method_not_allowed'
  | 'payload_too_large'
  | 'conflict'
  | 'too_many_sessions'
  | 'quota_exceeded'
  | 'approval_required'
  | 'approval_denied'
  | 'approval_expired'
  // A rate limit refused the request: HTTP 429 with Retry-After and the RateLimit headers (data.headers).
  | 'rate_limited'
  // Idempotency keys: the key was used for a different request, or its first request is still running.
  | 'idempotency_mismatch'
  | 'idempotency_in_flight'
  // A tool whose definition is new, changed or rejected since it was approved (tool pinning).
  | 'tool_quarantined'
  // The destination of an outbound connection is not allowed (SSRF-safe egress: scheme, credentials, address).
  | 'egress_refused'
  | 'upstream_unavailable'
  | 'upstream_timeout'
  | 'upstream_error'
  // Upstream OAuth (gateway/upstream/oauth): the caller has not connected the account a per-user connector needs
  // (data.connectUrl says where to), or the upstream's authorization server refused or could not be used.
  | 'upstream_auth_required'
  | 'upstream_auth_failed'
  | 'request_cancelled'
  // Upstream resilience (gateway/upstream/resilience.ts): the connector's concurrency cap is full (refused at once,
  // not queued), its circuit is open after repeated failures, or a call ran past its hard maximum (progress
  // notifications extend the per-answer timeout, never this).
  | 'upstream_overloaded'
  | 'circuit_open'
  | 'upstream_call_too_long'
  // A client answered an upstream's request (sampling, elicitation, roots) with an error of its own.
  | 'client_error'
  // The organisation's Cedar policy set refused the request, or could not be evaluated (which refuses too).
  | 'policy_denied'
  | 'policy_error'
  // Guardrails (guard-pre, guard-post): arguments that fail the tool's inputSchema, a deny rule or detected PII or
  // secrets in block mode, a result that fails the outputSchema, a result over the output cap in refuse mode, and a
  // guardrail that threw or ran out of time (which refuses too: fail closed).
  | 'arguments_invalid'
  | 'guardrail_denied'
  | 'output_invalid'
  | 'output_too_large'
  | 'guardrail_error'
  | 'audit_unavailable'
  // Retention refused to prune: the segment it would remove does not verify (its evidence is kept, not deleted).
  | 'audit_chain_broken'
  | 'store_unavailable'
  | 'config_invalid'
  // A stdio connector's command or environment is refused (a shell -c, node -e, LD_PRELOAD...) unless forced.
  | 'stdio_refused'
  // GATEHOUSE_STDIO_SANDBOX=bwrap and no sandbox works on this host: the connector does not start.
  | 'sandbox_unavailable'
  // The vault cannot open a credential (its data key or ciphertext fails, or the key provider does): the call that
  // needed it is not sent. key_provider_unavailable: the provider itself (token gone, wrong PIN) for vault commands.
  | 'credential_unavailable'
  | 'key_provider_unavailable'
  | 'internal';

export class GatehouseError extends Error {
  override readonly name = 'GatehouseError';
  readonly code: ErrorCode;
  /** Extra data that is safe to show a client (never secrets). */
  readonly data: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; data?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.data = options?.data;
  }
}

export const JSONRPC_PARSE_ERROR = -32700;
export const JSONRPC_INVALID_REQUEST = -32600;
export const JSONRPC_METHOD_NOT_FOUND = -32601;
export const JSONRPC_INVALID_PARAMS = -32602;
export const JSONRPC_INTERNAL_ERROR = -32603;

/** Whether a failure is the caller's (a denial: refused by a rule or a malformed request) or ours or an upstream's. */
export type FailureKind = 'deny' | 'error';
export type LogLevel = 'debug' | 'warn' | 'error';

export interface ErrorDescription {
  readonly httpStatus: number;
  readonly rpcCode: number;
  /** How the audit record files it: a denial (the gateway refused) or a fault (something failed). */
  readonly kind: FailureKind;
  /** How loudly the log reports it: denials are the audit log's business; faults need an operator. */
  readonly logLevel: LogLevel;
}

const DESCRIPTIONS: { readonly [C in ErrorCode]: readonly [httpStatus: number, rpcCode: number, kind: FailureKind, logLevel: LogLevel] } = {
  unauthenticated: [401, -32001, 'deny', 'debug'],
  forbidden: [403, -32003, 'deny', 'debug'],
  origin_forbidden: [403, -32003, 'deny', 'debug'],
  not_found: [404, -32004, 'deny', 'debug'],
  session_not_found: [404, -32004, 'deny', 'debug'],
  session_required: [400, JSONRPC_INVALID_REQUEST, 'deny', 'debug'],
  bad_request: [400, JSONRPC_INVALID_REQUEST, 'deny', 'debug'],
  invalid_request: [400, JSONRPC_INVALID_REQUEST, 'deny', 'debug'],
  batch_unsupported: [400, JSONRPC_INVALID_REQUEST, 'deny', 'debug'],
  unsupported_protocol_version: [400, JSONRPC_INVALID_REQUEST, 'deny', 'debug'],
  parse_error: [400, JSONRPC_PARSE_ERROR, 'deny', 'debug'],
  method_not_found: [200, JSONRPC_METHOD_NOT_FOUND, 'deny', 'debug'],
  unknown_method: [404, JSONRPC_METHOD_NOT_FOUND, 'deny', 'debug'],
  unsupported_revision: [400, -32022, 'deny', 'debug'],
  header_mismatch: [400, -32020, 'deny', 'debug'],
  invalid_envelope: [400, JSONRPC_INVALID_PARAMS, 'deny', 'debug'],
  invalid_params: [200, JSONRPC_INVALID_PARAMS, 'deny', 'debug'],
  not_acceptable: [406, JSONRPC_INVALID_REQUEST, 'deny', 'debug'],
  unsupported_media_type: [415, JSONRPC_INVALID_REQUEST, 'deny', 'debug'],
  method_not_allowed: [405, JSONRPC_INVALID_REQUEST, 'deny', 'debug'],
  payload_too_large: [413, JSONRPC_INVALID_REQUEST, 'deny', 'debug'],
  conflict: [409, JSONRPC_INVALID_REQUEST, 'deny', 'debug'],
  too_many_sessions: [429, JSONRPC_INVALID_REQUEST, 'deny', 'debug'],
  quota_exceeded: [429, -32033, 'deny', 'debug'],
  approval_required: [200, -32034, 'deny', 'debug'],
  approval_denied: [200, -32035, 'deny', 'debug'],
  approval_expired: [200, -32036, 'deny', 'debug'],
  rate_limited: [429, -32029, 'deny', 'debug'],
  idempotency_mismatch: [422, -32030, 'deny', 'debug'],
  idempotency_in_flight: [409, -32031, 'deny', 'debug'],
  tool_quarantined: [200, -32032, 'deny', 'debug'],
  // A refusal, not a fault: 400 where a destination is configured, the JSON-RPC error -32050 at call time.
  egress_refused: [400, -32050, 'deny', 'warn'],
  upstream_unavailable: [502, -32010, 'error', 'warn'],
  upstream_timeout: [504, -32011, 'error', 'warn'],
  upstream_error: [502, -32012, 'error', 'warn'],
  upstream_auth_required: [200, -32065, 'deny', 'debug'],
  upstream_auth_failed: [502, -32066, 'error', 'warn'],
  // The client went away or cancelled: not a refusal, and nothing for an operator to fix.
  request_cancelled: [200, -32800, 'error', 'debug'],
  upstream_overloaded: [503, -32015, 'error', 'warn'],
  circuit_open: [503, -32016, 'error', 'warn'],
  upstream_call_too_long: [504, -32017, 'error', 'warn'],
  client_error: [502, JSONRPC_INTERNAL_ERROR, 'error', 'debug'],
  policy_denied: [403, -32003, 'deny', 'debug'],
  // Fail closed: the call is refused, and an operator needs to know the policy set cannot be evaluated.
  policy_error: [500, -32014, 'error', 'error'],
  arguments_invalid: [200, -32040, 'deny', 'debug'],
  guardrail_denied: [200, -32041, 'deny', 'debug'],
  // The upstream answered against its own outputSchema: refused, and worth an operator's look.
  output_invalid: [502, -32042, 'error', 'warn'],
  output_too_large: [200, -32043, 'deny', 'debug'],
  guardrail_error: [500, -32044, 'error', 'error'],
  audit_unavailable: [503, -32013, 'error', 'error'],
  audit_chain_broken: [409, JSONRPC_INVALID_REQUEST, 'error', 'error'],
  store_unavailable: [503, -32013, 'error', 'error'],
  config_invalid: [500, JSONRPC_INTERNAL_ERROR, 'error', 'error'],
  stdio_refused: [400, -32055, 'deny', 'debug'],
  sandbox_unavailable: [503, -32056, 'error', 'error'],
  credential_unavailable: [503, -32060, 'error', 'error'],
  key_provider_unavailable: [503, -32061, 'error', 'error'],
  internal: [500, JSONRPC_INTERNAL_ERROR, 'error', 'error'],
};

/** The one map from an error code to its HTTP status, JSON-RPC code, denial-or-fault and log level. */
export function describeError(code: ErrorCode): ErrorDescription {
  return DESCRIBED[code];
}

const DESCRIBED = Object.fromEntries(
  Object.entries(DESCRIPTIONS).map(([code, [httpStatus, rpcCode, kind, logLevel]]) => [code, Object.freeze({ httpStatus, rpcCode, kind, logLevel })]),
) as unknown as { readonly [C in ErrorCode]: ErrorDescription };

/** The one error body of the control plane (admin API, /auth): the code and the client-safe message, nothing else. */
export function errorBody(e: GatehouseError): { error: { code: ErrorCode; message: string } } {
  return { error: { code: e.code, message: e.message } };
}

/** Wraps anything thrown into a GatehouseError, hiding what is not ours to show. */
export function toGatehouseError(err: unknown): GatehouseError {
  if (err instanceof GatehouseError) return err;
  return new GatehouseError('internal', 'Internal error', { cause: err });
}
