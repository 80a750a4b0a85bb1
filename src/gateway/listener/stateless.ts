import type { ServerResponse } from 'node:http';
import { describeError, GatehouseError, toGatehouseError } from '../../errors.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { Principal } from '../authn/authenticate.ts';
import type { CatalogView } from '../catalog/catalog.ts';
import type { Pipeline } from '../pipeline.ts';
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
import { httpEvent, type HttpExchange } from './exchange.ts';
import { rpcError, sendJson } from './respond.ts';
import { ListenerRegistry, type ChangeKind } from './subscriptions.ts';

export { carriesEnvelope } from './envelope.ts';

export interface StatelessDeps {
  readonly pipeline: Pipeline;
  readonly audit: AuditLog;
  readonly listeners: ListenerRegistry;
  readonly serverVersion: string;
}

/** Serves one enveloped (2026-07-28) request or notification; the caller has authenticated it and chosen the view. */
export type StatelessHandler = (x: HttpExchange, p: Principal, view: CatalogView, message: JsonRpcMessage) => Promise<void>;

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
export function createStatelessHandler(deps: StatelessDeps): StatelessHandler {
  const { pipeline, audit, listeners } = deps;
  const serverInfo = { name: 'gatehouse', version: deps.serverVersion };

  /** A refusal decided here: audited like the session path's, answered with the request's id so the client can match it. */
  async function refuse(x: HttpExchange, p: Principal, id: RequestId | null, action: string, err: GatehouseError, data?: Record<string, unknown>) {
    await audit.record(httpEvent(x, p, action, 'deny', err.code));
    const body = rpcError(id, err, x.correlationId) as { error: { data?: Record<string, unknown> } };
    if (data !== undefined) body.error.data = { ...data, ...body.error.data };
    sendJson(x.res, describeError(err.code).httpStatus, body, x.headers);
  }

  return async function stateless(x, p, view, message) {
    if (message.kind === 'response') throw new GatehouseError('invalid_request', 'Not a request');
    const m = message.message;
    x.rpcMethod = m.method;
    const action = `mcp.${m.method.slice(0, 64)}`;
    const id = message.kind === 'request' ? message.message.id : null;
    const meta = metaOf(m.params) ?? {};
    const version = meta[PROTOCOL_VERSION_KEY];
    if (typeof version !== 'string') {
      return refuse(x, p, id, action, new GatehouseError('invalid_envelope', `_meta["${PROTOCOL_VERSION_KEY}"] must be a string`));
    }
    if (!(MODERN_PROTOCOL_VERSIONS as readonly string[]).includes(version)) {
      const err = new GatehouseError('unsupported_revision', `Unsupported protocol version: ${version.slice(0, 32)}`);
      return refuse(x, p, id, action, err, { supported: SERVED_PROTOCOL_VERSIONS, requested: version.slice(0, 32) });
    }
    if (message.kind === 'notification') {
      // 2026-07-28 defines no client notification over HTTP (closing a stream is the cancellation): accept, ignore.
      x.res.writeHead(202, x.headers);
      x.res.end();
      return;
    }
    const request = message.message;
    const headerProblem = standardHeaderProblem(x.req.headers, request, version);
    if (headerProblem !== undefined) return refuse(x, p, id, action, new GatehouseError('header_mismatch', headerProblem));
    const metaProblem = envelopeProblem(meta);
    if (metaProblem !== undefined) return refuse(x, p, id, action, new GatehouseError('invalid_envelope', metaProblem));
    if (!SERVED_METHODS.has(request.method)) return refuse(x, p, id, action, new GatehouseError('unknown_method', 'Method not found'));
    const paramProblem = paramHeaders(x, p, view, request);
    if (paramProblem !== undefined) return refuse(x, p, id, action, new GatehouseError('header_mismatch', paramProblem));
    if (request.method === 'subscriptions/listen') return listen(x, p, request, action);
    return forward(x, p, view, request);
  };

  /** Mcp-Param-* are checked only against a tool this key may see: the check must not reveal what it may not. */
  function paramHeaders(x: HttpExchange, p: Principal, view: CatalogView, request: JsonRpcRequest): string | undefined {
    const name = request.params?.name;
    if (request.method !== 'tools/call' || typeof name !== 'string') return undefined;
    const tool = view.tool(name);
    if (tool === undefined || !p.scopes.allowsTool(tool.connector, tool.original)) return undefined;
    return paramHeaderProblem(x.req.headers, tool.item.inputSchema, request.params?.arguments);
  }

  async function forward(x: HttpExchange, p: Principal, view: CatalogView, request: JsonRpcRequest): Promise<void> {
    const controller = new AbortController();
    // The client closing the response before the answer is the cancellation of this revision.
    const onClose = () => {
      if (!x.res.writableFinished) controller.abort();
    };
    x.res.on('close', onClose);
    const progressToken = metaOf(request.params)?.progressToken;
    const wantsProgress = typeof progressToken === 'string' || typeof progressToken === 'number';
    const reply = new Reply(x.res, x.headers);
    let response: unknown;
    try {
      const result = await pipeline({
        principal: p,
        request: withoutEnvelope(request),
        clientIp: x.clientIp,
        correlationId: x.correlationId,
        signal: controller.signal,
        view,
        onProgress: wantsProgress
          ? (progress) => {
              reply.send({ jsonrpc: '2.0', method: 'notifications/progress', params: { ...progress, progressToken } });
            }
          : undefined,
      });
      response = { jsonrpc: '2.0', id: request.id, result: shapeResult(request.method, result, serverInfo) };
    } catch (err) {
      response = rpcError(request.id, toGatehouseError(err), x.correlationId);
    } finally {
      x.res.off('close', onClose);
    }
    // A cancelled request sends nothing more.
    if (!controller.signal.aborted) reply.finish(response);
  }

  async function listen(x: HttpExchange, p: Principal, request: JsonRpcRequest, action: string): Promise<void> {
    let kinds: Set<ChangeKind>;
    try {
      kinds = ListenerRegistry.honoured(request.params);
      listeners.admit(p);
    } catch (err) {
      return refuse(x, p, request.id, action, toGatehouseError(err));
    }
    await audit.record(httpEvent(x, p, action, 'allow', null, [...kinds].join(',')));
    listeners.open(x.res, x.headers, p, request.id, kinds);
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

  finish(response: unknown): void {
    if (this.#done) return;
    this.#done = true;
    const res = this.#res;
    if (!this.#streaming) {
      if (!res.writableEnded && !res.destroyed) sendJson(res, 200, response, this.#headers);
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
