import type { ServerResponse } from 'node:http';
import { describeError, GatehouseError } from '../../errors.ts';
import type { Call } from '../call.ts';
import { MODERN_PROTOCOL_VERSIONS, SERVED_PROTOCOL_VERSIONS, type JsonRpcMessage, type JsonRpcRequest, type RequestId } from '../protocol.ts';
import {
  envelopeProblem,
  isObject,
  metaOf,
  paramHeaderProblem,
  PROTOCOL_VERSION_KEY,
  SERVER_INFO_KEY,
  standardHeaderProblem,
  withoutEnvelope,
} from './envelope.ts';
import type { HttpExchange } from './exchange.ts';
import { plainAnswer, rpcError, sendJson } from './respond.ts';
import { ListenerRegistry, type ChangeKind } from './subscriptions.ts';

export { carriesEnvelope } from './envelope.ts';

export interface StatelessDeps {
  readonly listeners: ListenerRegistry;
  readonly serverVersion: string;
}

/** What the HTTP transport hands an exchange with an enveloped message to: its receive, admitted and respond. */
export interface StatelessMode {
  exchange(x: HttpExchange): StatelessReply;
}

export interface StatelessReply {
  receive(call: Call, message: JsonRpcMessage): void;
  admitted(call: Call): void;
  respond(call: Call): void;
}

/** The methods of 2026-07-28 the gateway serves; anything else, including what that revision removed, is a 404. */
const SERVED_METHODS: ReadonlySet<string> = new Set([
  'server/discover',
  'tools/list',
  'tools/call',
  'prompts/list',
  'prompts/get',
  'resources/list',
  'resources/templates/list',
  'resources/read',
  'completion/complete',
  'subscriptions/listen',
]);
/** Results a client may cache: always for no time and never across keys, since every listing is filtered per key. */
const CACHEABLE: ReadonlySet<string> = new Set(['server/discover', 'tools/list', 'prompts/list', 'resources/list', 'resources/templates/list', 'resources/read']);
/** This revision's own refusals of a request, answered with their HTTP status and the request's id. */
const REVISION_REFUSALS: ReadonlySet<string> = new Set(['unsupported_revision', 'header_mismatch', 'invalid_envelope', 'unknown_method']);

/**
 * MCP 2026-07-28 over Streamable HTTP: every POST stands alone. Its `_meta` envelope names the revision and the
 * client's capabilities; headers mirror the body and must agree with it; there is no session, no GET stream and no
 * resumption. The request then takes the same pipeline, with the same view and principal, as one inside a session:
 * what a key may see and call never depends on the revision it speaks. Progress travels on the response's own SSE
 * stream; closing that stream cancels the request.
 *
 * Upstream elicitation and sampling (multi-round-trip `input_required` results) are not offered: these requests use
 * the shared upstream connections, whose client declares no capabilities, so an upstream cannot ask.
 */
export function createStatelessMode(deps: StatelessDeps): StatelessMode {
  const { listeners } = deps;
  const serverInfo = { name: 'gatehouse', version: deps.serverVersion };

  return { exchange: (x) => new StatelessExchange(x, serverInfo, listeners) };
}

/** One stateless exchange: refused here, a listen stream, or a request the pipeline runs, answered by `Reply`. */
class StatelessExchange implements StatelessReply {
  readonly #x: HttpExchange;
  #id: RequestId | null = null;
  readonly #serverInfo: { name: string; version: string };
  readonly #listeners: ListenerRegistry;
  readonly #reply: Reply;
  #refusalData: Record<string, unknown> | undefined;
  #listen: Set<ChangeKind> | undefined;
  #controller: AbortController | undefined;
  #notification = true;
  #listening = false;

  constructor(x: HttpExchange, serverInfo: { name: string; version: string }, listeners: ListenerRegistry) {
    this.#x = x;
    this.#serverInfo = serverInfo;
    this.#listeners = listeners;
    this.#reply = new Reply(x.res, x.headers);
  }

  receive(call: Call, message: JsonRpcMessage): void {
    const x = this.#x;
    if (message.kind === 'response') throw new GatehouseError('invalid_request', 'Not a request');
    const m = message.message;
    x.rpcMethod = m.method;
    call.audit.action = `mcp.${m.method.slice(0, 64)}`;
    this.#id = message.kind === 'request' ? message.message.id : null;
    const meta = metaOf(m.params) ?? {};
    const version = meta[PROTOCOL_VERSION_KEY];
    if (typeof version !== 'string') this.refuse(new GatehouseError('invalid_envelope', `_meta["${PROTOCOL_VERSION_KEY}"] must be a string`));
    if (!(MODERN_PROTOCOL_VERSIONS as readonly string[]).includes(version)) {
      const err = new GatehouseError('unsupported_revision', `Unsupported protocol version: ${version.slice(0, 32)}`);
      this.refuse(err, { supported: SERVED_PROTOCOL_VERSIONS, requested: version.slice(0, 32) });
    }
    // 2026-07-28 defines no client notification over HTTP (closing a stream is the cancellation): accept, ignore.
    if (message.kind === 'notification') return;
    call.protocolVersion = version;
    const request = message.message;
    const headerProblem = standardHeaderProblem(x.req.headers, request, version);
    if (headerProblem !== undefined) this.refuse(new GatehouseError('header_mismatch', headerProblem));
    const metaProblem = envelopeProblem(meta);
    if (metaProblem !== undefined) this.refuse(new GatehouseError('invalid_envelope', metaProblem));
    if (!SERVED_METHODS.has(request.method)) this.refuse(new GatehouseError('unknown_method', 'Method not found'));
    if (request.method === 'subscriptions/listen') this.listen(call, request);
    else this.forward(call, request);
  }

  /** Throws the refusal (the pipeline records it); `respond` answers it with the request's id and the extra data. */
  refuse(err: GatehouseError, data?: Record<string, unknown>): never {
    this.#refusalData = data;
    throw err;
  }

  listen(call: Call, request: JsonRpcRequest): void {
    this.#notification = false;
    this.#listening = true;
    call.local = () => {
      const kinds = ListenerRegistry.honoured(request.params);
      if (call.principal !== undefined) this.#listeners.admit(call.principal);
      this.#listen = kinds;
      call.audit.name = [...kinds].join(',');
    };
  }

  forward(call: Call, request: JsonRpcRequest): void {
    this.#notification = false;
    const controller = new AbortController();
    this.#controller = controller;
    // The client closing the response before the answer is the cancellation of this revision.
    const res = this.#x.res;
    const onClose = () => {
      if (!res.writableFinished) controller.abort();
    };
    res.on('close', onClose);
    res.once('finish', () => res.off('close', onClose));
    call.request = withoutEnvelope(request);
    call.signal = controller.signal;
    const progressToken = metaOf(request.params)?.progressToken;
    if (typeof progressToken === 'string' || typeof progressToken === 'number') {
      call.onProgress = (progress) => {
        this.#reply.send({ jsonrpc: '2.0', method: 'notifications/progress', params: { ...progress, progressToken } });
      };
    }
  }

  /** Mcp-Param-* are checked only against a tool this key may use: the check must not reveal what it may not. */
  admitted(call: Call): void {
    const t = call.target;
    const request = call.request;
    if (t?.kind !== 'tool' || request?.method !== 'tools/call') return;
    const problem = paramHeaderProblem(this.#x.req.headers, t.entry.item.inputSchema, request.params?.arguments);
    if (problem !== undefined) throw new GatehouseError('header_mismatch', problem);
  }

  respond(call: Call): void {
    const { res, headers } = this.#x;
    const failure = call.failure;
    if (failure !== undefined && (call.failedAt === 'receive' || this.#listening || REVISION_REFUSALS.has(failure.code))) {
      const body = rpcError(this.#id, failure, call.correlationId) as { error: { data?: Record<string, unknown> } };
      if (this.#refusalData !== undefined) body.error.data = { ...this.#refusalData, ...body.error.data };
      sendJson(res, describeError(failure.code).httpStatus, body, { ...headers, ...plainAnswer(failure).headers });
      return;
    }
    if (failure === undefined && this.#notification) {
      res.writeHead(202, headers);
      res.end();
      return;
    }
    if (failure === undefined && this.#listen !== undefined && call.principal !== undefined && this.#id !== null) {
      this.#listeners.open(res, headers, call.principal, this.#id, this.#listen);
      return;
    }
    // A cancelled request sends nothing more.
    if (this.#controller?.signal.aborted === true) return;
    const method = call.request?.method ?? '';
    this.#reply.finish(
      failure === undefined
        ? { jsonrpc: '2.0', id: this.#id, result: shapeResult(method, call.result, this.#serverInfo) }
        : rpcError(this.#id, failure, call.correlationId),
      failure,
    );
  }
}

/** The result as 2026-07-28 requires it: typed complete, cache fields where they are required, the server named. */
export function shapeResult(method: string, result: unknown, serverInfo: { name: string; version: string }): Record<string, unknown> {
  const r: Record<string, unknown> = isObject(result) ? { ...result } : {};
  // Tasks left the core protocol in 2026-07-28; a tool's `execution` (task support) is not part of it.
  if (method === 'tools/list' && Array.isArray(r.tools)) r.tools = r.tools.map((t: unknown) => (isObject(t) ? withoutKey(t, 'execution') : t));
  if (CACHEABLE.has(method)) {
    r.ttlMs = 0;
    r.cacheScope = 'private';
  }
  r.resultType = 'complete';
  r._meta = { ...(isObject(r._meta) ? r._meta : {}), [SERVER_INFO_KEY]: serverInfo };
  return r;
}

function withoutKey(o: Record<string, unknown>, key: string): Record<string, unknown> {
  const { [key]: _dropped, ...rest } = o;
  return rest;
}

/**
 * The answer to one stateless POST: plain JSON, unless progress has to travel first; then an SSE stream scoped to
 * this request (no event ids: this revision has no resumption), ending with the answer.
 */
class Reply {
  readonly #res: ServerResponse;
  readonly #headers: Record<string, string>;
  #streaming = false;
  #done = false;

  constructor(res: ServerResponse, headers: Record<string, string>) {
    this.#res = res;
    this.#headers = headers;
  }

  send(message: unknown): void {
    if (this.#done || this.#res.destroyed) return;
    if (!this.#streaming) {
      this.#streaming = true;
      this.#res.writeHead(200, { ...this.#headers, 'content-type': 'text/event-stream', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
    }
    this.#res.write(frame(message));
  }

  finish(response: unknown, refusal?: GatehouseError): void {
    if (this.#done) return;
    this.#done = true;
    const res = this.#res;
    if (!this.#streaming) {
      const { status, headers } = plainAnswer(refusal);
      if (!res.writableEnded && !res.destroyed) sendJson(res, status, response, { ...this.#headers, ...headers });
      return;
    }
    // In its own write, a macrotask after the last notification: SDK clients dispatch a notification later than a
    // response read in the same chunk and would drop it (typescript-sdk#2580).
    setImmediate(() => {
      if (!res.writableEnded && !res.destroyed) res.end(frame(response));
    });
  }
}

function frame(message: unknown): string {
  return `event: message\ndata: ${JSON.stringify(message)}\n\n`;
}
