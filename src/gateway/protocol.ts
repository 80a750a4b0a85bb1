import { GatehouseError } from '../errors.ts';

/** The MCP revisions the gateway serves in sessions (negotiated by initialize), newest first. */
export const SUPPORTED_PROTOCOL_VERSIONS = ['2025-11-25', '2025-06-18', '2025-03-26'] as const;
export const LATEST_PROTOCOL_VERSION = SUPPORTED_PROTOCOL_VERSIONS[0];
/** The stateless revisions, served request by request (their `_meta` envelope names one), never inside a session. */
export const MODERN_PROTOCOL_VERSIONS = ['2026-07-28'] as const;
/** Every revision the gateway serves, newest first, as server/discover and the -32022 refusal list them. */
export const SERVED_PROTOCOL_VERSIONS: readonly string[] = [...MODERN_PROTOCOL_VERSIONS, ...SUPPORTED_PROTOCOL_VERSIONS];
/** What a client that sends no MCP-Protocol-Version header is assumed to speak (the specification's rule). */
export const DEFAULT_PROTOCOL_VERSION = '2025-03-26';

export type RequestId = string | number;

export interface JsonRpcRequest {
  readonly jsonrpc: '2.0';
  readonly id: RequestId;
  readonly method: string;
  readonly params?: Record<string, unknown>;
}

export interface JsonRpcNotification {
  readonly jsonrpc: '2.0';
  readonly method: string;
  readonly params?: Record<string, unknown>;
}

export interface JsonRpcResponse {
  readonly jsonrpc: '2.0';
  readonly id: RequestId;
  readonly result?: unknown;
  readonly error?: unknown;
}

export type JsonRpcMessage =
  | { readonly kind: 'request'; readonly message: JsonRpcRequest }
  | { readonly kind: 'notification'; readonly message: JsonRpcNotification }
  | { readonly kind: 'response'; readonly message: JsonRpcResponse };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Classifies one parsed JSON value as a JSON-RPC 2.0 message, refusing batches and malformed shapes. */
export function classifyMessage(value: unknown): JsonRpcMessage {
  if (Array.isArray(value)) throw new GatehouseError('batch_unsupported', 'JSON-RPC batches are not supported');
  if (!isObject(value) || value.jsonrpc !== '2.0') throw new GatehouseError('invalid_request', 'Not a JSON-RPC 2.0 message');
  const { id, method, params } = value;
  if (params !== undefined && !isObject(params)) throw new GatehouseError('invalid_request', 'params must be an object');
  const validId = (typeof id === 'string' && id.length <= 256) || (typeof id === 'number' && Number.isSafeInteger(id));
  if (typeof method === 'string') {
    if (method.length === 0 || method.length > 128) throw new GatehouseError('invalid_request', 'Invalid method');
    if (id === undefined) return { kind: 'notification', message: value as unknown as JsonRpcNotification };
    if (!validId) throw new GatehouseError('invalid_request', 'Invalid request id');
    return { kind: 'request', message: value as unknown as JsonRpcRequest };
  }
  if (validId && ('result' in value || 'error' in value)) return { kind: 'response', message: value as unknown as JsonRpcResponse };
  throw new GatehouseError('invalid_request', 'Not a JSON-RPC request, notification or response');
}

/**
 * Rejects JSON nested deeper than `max` before it is parsed, so a hostile body cannot make the parser or anything
 * after it recurse without bound. Scans the text once; brackets inside strings do not count.
 */
export function exceedsDepth(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > max) return true;
    } else if (c === 125 /* } */ || c === 93 /* ] */) depth--;
  }
  return false;
}

export function negotiateVersion(requested: unknown): string {
  return typeof requested === 'string' && (SUPPORTED_PROTOCOL_VERSIONS as readonly string[]).includes(requested)
    ? requested
    : LATEST_PROTOCOL_VERSION;
}

export function isSupportedVersion(v: string): boolean {
  return (SUPPORTED_PROTOCOL_VERSIONS as readonly string[]).includes(v);
}
