import type { IncomingHttpHeaders } from 'node:http';
import type { JsonRpcMessage, JsonRpcRequest } from '../protocol.ts';

/**
 * The per-request envelope of MCP 2026-07-28: the `io.modelcontextprotocol/*` keys of a request's `_meta`, and the
 * headers that mirror the body (`MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name`, `Mcp-Param-*`). The gateway checks
 * that headers and body agree, but decides only on the body: a header is never trusted for routing or access.
 */
export const RESERVED_META_PREFIX = 'io.modelcontextprotocol/';
export const PROTOCOL_VERSION_KEY = 'io.modelcontextprotocol/protocolVersion';
export const CLIENT_CAPABILITIES_KEY = 'io.modelcontextprotocol/clientCapabilities';
export const CLIENT_INFO_KEY = 'io.modelcontextprotocol/clientInfo';
export const LOG_LEVEL_KEY = 'io.modelcontextprotocol/logLevel';
export const SERVER_INFO_KEY = 'io.modelcontextprotocol/serverInfo';
export const SUBSCRIPTION_ID_KEY = 'io.modelcontextprotocol/subscriptionId';

/** The body field `Mcp-Name` mirrors, per method. */
const NAME_SOURCE: Readonly<Record<string, string>> = { 'tools/call': 'name', 'prompts/get': 'name', 'resources/read': 'uri' };
const HEADER_TOKEN = /^[A-Za-z0-9-]{1,64}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const MAX_SCHEMA_DEPTH = 8;

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The request's `_meta`, when it is an object. */
export function metaOf(params: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  const meta = params?._meta;
  return isObject(meta) ? meta : undefined;
}

/** True when a request or notification claims the 2026-07-28 era: its `_meta` names a protocol version. */
export function carriesEnvelope(message: JsonRpcMessage): boolean {
  if (message.kind === 'response') return false;
  const meta = metaOf(message.message.params);
  return meta !== undefined && PROTOCOL_VERSION_KEY in meta;
}

/** What is wrong with the envelope's required keys (answered 400 / -32602); undefined when nothing is. */
export function envelopeProblem(meta: Record<string, unknown>): string | undefined {
  if (!isObject(meta[CLIENT_CAPABILITIES_KEY])) return `_meta["${CLIENT_CAPABILITIES_KEY}"] must be an object`;
  const info = meta[CLIENT_INFO_KEY];
  if (info !== undefined && !isObject(info)) return `_meta["${CLIENT_INFO_KEY}"] must be an object`;
  const level = meta[LOG_LEVEL_KEY];
  if (level !== undefined && typeof level !== 'string') return `_meta["${LOG_LEVEL_KEY}"] must be a string`;
  return undefined;
}

/**
 * A copy of the request without the envelope: the `io.modelcontextprotocol/*` keys describe the client's hop to the
 * gateway and must never reach an upstream (a dual-era upstream would refuse the mismatch, and the client's self-
 * description is not the upstream's business). `progressToken` and other keys stay; so do the other params, apart
 * from the multi-round-trip fields the gateway does not offer.
 */
export function withoutEnvelope(request: JsonRpcRequest): JsonRpcRequest {
  const { _meta, inputResponses: _responses, requestState: _state, ...rest } = request.params ?? {};
  const kept = isObject(_meta) ? Object.entries(_meta).filter(([k]) => !k.startsWith(RESERVED_META_PREFIX)) : [];
  return { ...request, params: kept.length === 0 ? rest : { ...rest, _meta: Object.fromEntries(kept) } };
}

/** Whether the request's `_meta` carries any `io.modelcontextprotocol/*` key (cheap; no copy). */
export function hasReservedMeta(request: JsonRpcRequest): boolean {
  const meta = request.params?._meta;
  if (!isObject(meta)) return false;
  for (const k in meta) if (k.startsWith(RESERVED_META_PREFIX)) return true;
  return false;
}

/** Decodes a header value in the `=?base64?…?=` form; undefined when that form does not hold UTF-8 base64. */
export function decodeHeaderValue(value: string): string | undefined {
  const v = value.trim();
  if (v.length < 11 || !v.startsWith('=?base64?') || !v.endsWith('?=')) return v;
  const b64 = v.slice(9, -2);
  if (!BASE64.test(b64)) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(b64, 'base64'));
  } catch {
    return undefined;
  }
}

/** The first disagreement between the standard headers and the body (answered 400 / -32020); undefined if none. */
export function standardHeaderProblem(headers: IncomingHttpHeaders, request: JsonRpcRequest, version: string): string | undefined {
  const protocolVersion = single(headers['mcp-protocol-version']);
  if (protocolVersion === undefined) return 'MCP-Protocol-Version header is required';
  if (protocolVersion.trim() !== version) return 'MCP-Protocol-Version header does not match the request';
  const method = single(headers['mcp-method']);
  if (method === undefined) return 'Mcp-Method header is required';
  if (method.trim() !== request.method) return 'Mcp-Method header does not match the request';
  const field = NAME_SOURCE[request.method];
  const bodyValue = field === undefined ? undefined : request.params?.[field];
  // A body without the name is refused by the pipeline like on every other revision.
  if (typeof bodyValue !== 'string') return undefined;
  const name = single(headers['mcp-name']);
  if (name === undefined) return 'Mcp-Name header is required';
  const decoded = decodeHeaderValue(name);
  if (decoded === undefined) return 'Mcp-Name header is not valid';
  if (decoded !== bodyValue) return 'Mcp-Name header does not match the request';
  return undefined;
}

/**
 * The first `Mcp-Param-*` header that does not mirror the tool's arguments (400 / -32020): a property of the input
 * schema that declares `x-mcp-header` must travel in that header whenever the argument has a value. Numbers compare
 * numerically, everything else as text.
 */
export function paramHeaderProblem(headers: IncomingHttpHeaders, inputSchema: unknown, args: unknown): string | undefined {
  for (const d of declarations(inputSchema, [], [], 0)) {
    const value = valueAt(args, d.path);
    // Absent or null: no header is expected. Only scalars can be mirrored in one.
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') continue;
    const raw = single(headers[`mcp-param-${d.header.toLowerCase()}`]);
    if (raw === undefined) return `Mcp-Param-${d.header} header is required`;
    const decoded = decodeHeaderValue(raw);
    if (decoded === undefined) return `Mcp-Param-${d.header} header is not valid`;
    const same = typeof value === 'number' ? decoded !== '' && Number(decoded) === value : decoded === String(value);
    if (!same) return `Mcp-Param-${d.header} header does not match the arguments`;
  }
  return undefined;
}

interface HeaderDeclaration {
  readonly header: string;
  readonly path: readonly string[];
}

function declarations(schema: unknown, path: readonly string[], out: HeaderDeclaration[], depth: number): HeaderDeclaration[] {
  if (depth > MAX_SCHEMA_DEPTH || !isObject(schema) || !isObject(schema.properties)) return out;
  for (const [key, prop] of Object.entries(schema.properties)) {
    if (!isObject(prop)) continue;
    const header = prop['x-mcp-header'];
    // A name that is not a header token cannot have been sent by a client; the upstream's schema is not ours to fix.
    if (typeof header === 'string' && HEADER_TOKEN.test(header)) out.push({ header, path: [...path, key] });
    declarations(prop, [...path, key], out, depth + 1);
  }
  return out;
}

function valueAt(root: unknown, path: readonly string[]): unknown {
  let node = root;
  for (const key of path) {
    if (!isObject(node)) return undefined;
    node = node[key];
  }
  return node;
}

function single(v: string | string[] | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
