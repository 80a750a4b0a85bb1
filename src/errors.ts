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
  | 'upstream_unavailable'
  | 'upstream_timeout'
  | 'upstream_error'
  | 'request_cancelled'
  | 'audit_unavailable'
  | 'store_unavailable'
  | 'config_invalid'
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

export interface ErrorDescription {
  readonly httpStatus: number;
  readonly rpcCode: number;
  readonly message: string;
}

/** The one map from error codes to HTTP statuses and JSON-RPC error codes. */
export function describeError(code: ErrorCode): { httpStatus: number; rpcCode: number } {
  switch (code) {
    case 'unauthenticated':
      return { httpStatus: 401, rpcCode: -32001 };
    case 'forbidden':
    case 'origin_forbidden':
      return { httpStatus: 403, rpcCode: -32003 };
    case 'not_found':
    case 'session_not_found':
      return { httpStatus: 404, rpcCode: -32004 };
    case 'session_required':
    case 'bad_request':
    case 'invalid_request':
    case 'batch_unsupported':
    case 'unsupported_protocol_version':
      return { httpStatus: 400, rpcCode: JSONRPC_INVALID_REQUEST };
    case 'parse_error':
      return { httpStatus: 400, rpcCode: JSONRPC_PARSE_ERROR };
    case 'method_not_found':
      return { httpStatus: 200, rpcCode: JSONRPC_METHOD_NOT_FOUND };
    case 'unknown_method':
      return { httpStatus: 404, rpcCode: JSONRPC_METHOD_NOT_FOUND };
    case 'unsupported_revision':
      return { httpStatus: 400, rpcCode: -32022 };
    case 'header_mismatch':
      return { httpStatus: 400, rpcCode: -32020 };
    case 'invalid_envelope':
      return { httpStatus: 400, rpcCode: JSONRPC_INVALID_PARAMS };
    case 'invalid_params':
      return { httpStatus: 200, rpcCode: JSONRPC_INVALID_PARAMS };
    case 'not_acceptable':
      return { httpStatus: 406, rpcCode: JSONRPC_INVALID_REQUEST };
    case 'unsupported_media_type':
      return { httpStatus: 415, rpcCode: JSONRPC_INVALID_REQUEST };
    case 'method_not_allowed':
      return { httpStatus: 405, rpcCode: JSONRPC_INVALID_REQUEST };
    case 'payload_too_large':
      return { httpStatus: 413, rpcCode: JSONRPC_INVALID_REQUEST };
    case 'conflict':
      return { httpStatus: 409, rpcCode: JSONRPC_INVALID_REQUEST };
    case 'too_many_sessions':
      return { httpStatus: 429, rpcCode: JSONRPC_INVALID_REQUEST };
    case 'upstream_unavailable':
      return { httpStatus: 502, rpcCode: -32010 };
    case 'upstream_timeout':
      return { httpStatus: 504, rpcCode: -32011 };
    case 'upstream_error':
      return { httpStatus: 502, rpcCode: -32012 };
    case 'request_cancelled':
      return { httpStatus: 200, rpcCode: -32800 };
    case 'audit_unavailable':
    case 'store_unavailable':
      return { httpStatus: 503, rpcCode: -32013 };
    case 'config_invalid':
    case 'internal':
      return { httpStatus: 500, rpcCode: JSONRPC_INTERNAL_ERROR };
  }
}

/** Wraps anything thrown into a GatehouseError, hiding what is not ours to show. */
export function toGatehouseError(err: unknown): GatehouseError {
  if (err instanceof GatehouseError) return err;
  return new GatehouseError('internal', 'Internal error', { cause: err });
}
