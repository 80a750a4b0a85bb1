import type { Logger } from 'pino';
import type { Config } from '../../config/schema.ts';
import { GatehouseError, toGatehouseError } from '../../errors.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { Principal } from '../authn/authenticate.ts';
import type { CatalogView } from '../catalog/catalog.ts';
import type { Pipeline, SessionOps } from '../pipeline.ts';
import { classifyMessage, exceedsDepth, isSupportedVersion, type JsonRpcNotification, type JsonRpcRequest } from '../protocol.ts';
import { createRequestAuthenticator, type RequestAuthenticatorDeps } from './authenticate-request.ts';
import { readBody } from './body.ts';
import { clientFeatures, headerOf, httpEvent, type HttpExchange } from './exchange.ts';
import { rpcError, sendHttpError, sendJson } from './respond.ts';
import { BATCH_REVISION, BatchChannel, classifyBatch } from './batch.ts';
import { ResponseChannel, type RequestChannel, type Session } from './session.ts';
import { hasReservedMeta, withoutEnvelope } from './envelope.ts';
import { carriesEnvelope, type StatelessHandler } from './stateless.ts';
import type { SessionRegistry } from './sessions.ts';
import { parseEventId } from './streams.ts';

export type { HttpExchange } from './exchange.ts';

/** A session's bridge to its upstreams: what the pipeline asks of it, and what the endpoint tells it. */
export interface SessionBridge extends SessionOps {
  rootsChanged(): void;
  close(): Promise<void>;
}

export interface McpEndpointDeps extends RequestAuthenticatorDeps {
  readonly config: Pick<Config, 'maxBodyBytes' | 'maxJsonDepth'>;
  readonly pipeline: Pipeline;
  readonly sessions: SessionRegistry;
  readonly audit: AuditLog;
  readonly log: Logger;
  /** The catalog an endpoint serves: the organisation's (server null) or a virtual server's; undefined if none. */
  readonly view: (orgId: string, server: string | null) => CatalogView | undefined;
  readonly bridge: (session: Session) => SessionBridge;
  /** Serves requests of the stateless revision (2026-07-28), recognised by the `_meta` envelope of their body. */
  readonly stateless: StatelessHandler;
}

const KEEP_ALIVE_MS = 25_000;

/**
 * MCP Streamable HTTP (2025-03-26 .. 2025-11-25) at /mcp and /servers/{name}/mcp. POST carries one JSON-RPC
 * message and is answered with JSON, or with an SSE stream when something has to reach the client before the
 * result; GET opens the session's standalone stream or resumes a broken one from Last-Event-ID; DELETE ends the
 * session. Each body is parsed once; results are serialised once.
 */
export function createMcpEndpoint(deps: McpEndpointDeps) {
  const { sessions, pipeline, audit } = deps;
  const bridges = new WeakMap<Session, SessionBridge>();
  const authenticateOrRefuse = createRequestAuthenticator(deps);

  async function deny(x: HttpExchange, p: Principal, err: GatehouseError, action: string, reason: string = err.code): Promise<void> {
    await audit.record(httpEvent(x, p, action, 'deny', reason));
    sendHttpError(x.res, err, x.headers, x.correlationId);
  }

  /**
   * The endpoint's catalog for this key. A key restricted to virtual servers may use only those; a virtual server
   * that does not exist and one the key may not use answer alike.
   */
  async function viewFor(x: HttpExchange, p: Principal, server: string | null): Promise<CatalogView | undefined> {
    const allowed = p.servers === null || (server !== null && p.servers.includes(server));
    const view = allowed ? deps.view(p.orgId, server) : undefined;
    if (view !== undefined) return view;
    if (server === null) await deny(x, p, new GatehouseError('forbidden', 'This key may only be used on its virtual servers'), 'mcp.endpoint', 'server_scope');
    else await deny(x, p, new GatehouseError('not_found', 'Not found'), 'mcp.endpoint', allowed ? 'unknown_server' : 'server_scope');
    return undefined;
  }

  /** Finds the request's session; answers 400/404 itself and returns undefined when there is none to use. */
  async function sessionOf(x: HttpExchange, p: Principal, server: string | null, action: string): Promise<Session | undefined> {
    const id = x.req.headers['mcp-session-id'];
    if (typeof id !== 'string' || id === '') {
      await deny(x, p, new GatehouseError('session_required', 'Mcp-Session-Id header is required'), action);
      return undefined;
    }
    const found = sessions.find(id, p, server);
    if (found.session === undefined) {
      await deny(x, p, new GatehouseError('session_not_found', 'Session not found'), found.mismatch ? `${action}.foreign_session` : action);
      return undefined;
    }
    // Any revision the gateway serves is accepted on a request of a session (as the SDK's server does); the
    // checks that follow are the same whichever it names.
    const version = x.req.headers['mcp-protocol-version'];
    if (typeof version === 'string' && !isSupportedVersion(version)) {
      await deny(x, p, new GatehouseError('unsupported_protocol_version', `Unsupported MCP-Protocol-Version: ${version.slice(0, 32)}`), action);
      return undefined;
    }
    return found.session;
  }

  // Authentication comes first so that every refusal after it is audited under the caller's organisation.
  async function post(x: HttpExchange, server: string | null): Promise<void> {
    const { req } = x;
    const p = await authenticateOrRefuse(x, server);
    if (p === undefined) return;
    if (!(req.headers['content-type'] ?? '').toLowerCase().startsWith('application/json')) {
      return deny(x, p, new GatehouseError('unsupported_media_type', 'Content-Type must be application/json'), 'mcp.invalid');
    }
    const accept = req.headers.accept ?? '';
    if (!accept.includes('application/json') || !accept.includes('text/event-stream')) {
      return deny(x, p, new GatehouseError('not_acceptable', 'Accept must include application/json and text/event-stream'), 'mcp.invalid');
    }
    let text: string;
    try {
      text = await readBody(req, deps.config.maxBodyBytes);
    } catch (err) {
      // The rest of an oversized body is not read: answer, then drop the connection.
      x.res.once('finish', () => req.destroy());
      return deny(x, p, toGatehouseError(err), 'mcp.invalid');
    }
    if (exceedsDepth(text, deps.config.maxJsonDepth)) return deny(x, p, new GatehouseError('invalid_request', 'JSON nested too deeply'), 'mcp.invalid');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return deny(x, p, new GatehouseError('parse_error', 'Parse error'), 'mcp.invalid');
    }
    if (Array.isArray(parsed)) return batch(x, p, server, parsed);
    let message;
    try {
      message = classifyMessage(parsed);
    } catch (err) {
      return deny(x, p, toGatehouseError(err), 'mcp.invalid');
    }
    const view = await viewFor(x, p, server);
    if (view === undefined) return;
    if (carriesEnvelope(message)) return deps.stateless(x, p, view, message);
    if (message.kind === 'request' && message.message.method === 'initialize') return initialize(x, p, server, view, message.message);
    const action = message.kind === 'request' ? `mcp.${message.message.method.slice(0, 64)}` : 'mcp.message';
    const session = await sessionOf(x, p, server, action);
    if (session === undefined) return;
    // Reserved `io.modelcontextprotocol/*` _meta keys describe the client's hop and never travel upstream.
    if (message.kind === 'request') return request(x, p, session, view, hasReservedMeta(message.message) ? withoutEnvelope(message.message) : message.message);
    if (message.kind === 'notification') notification(session, message.message);
    else if (!session.answer(message.message.id, message.message.result, message.message.error)) {
      return deny(x, p, new GatehouseError('invalid_request', 'No request of this session has that id'), 'mcp.response');
    }
    x.res.writeHead(202, x.headers);
    x.res.end();
  }

  async function initialize(x: HttpExchange, p: Principal, server: string | null, view: CatalogView, request: JsonRpcRequest): Promise<void> {
    x.rpcMethod = 'initialize';
    if (x.req.headers['mcp-session-id'] !== undefined) {
      return deny(x, p, new GatehouseError('invalid_request', 'initialize must not carry a session id'), 'mcp.initialize');
    }
    const controller = new AbortController();
    let result: unknown;
    try {
      result = await pipeline({ principal: p, request, clientIp: x.clientIp, correlationId: x.correlationId, signal: controller.signal, view });
    } catch (err) {
      sendJson(x.res, 200, rpcError(request.id, toGatehouseError(err), x.correlationId), x.headers);
      return;
    }
    let session: Session;
    try {
      session = sessions.create(p, (result as { protocolVersion: string }).protocolVersion, server, clientFeatures(request.params?.capabilities));
    } catch (err) {
      return deny(x, p, toGatehouseError(err), 'mcp.initialize');
    }
    const bridge = deps.bridge(session);
    bridges.set(session, bridge);
    session.onEnd = () => void bridge.close();
    sendJson(x.res, 200, { jsonrpc: '2.0', id: request.id, result }, { ...x.headers, 'mcp-session-id': session.id });
  }

  /** A JSON-RPC batch: only on a 2025-03-26 session, answered with one JSON array after every member ran. */
  async function batch(x: HttpExchange, p: Principal, server: string | null, items: unknown[]): Promise<void> {
    const refusal = new GatehouseError('batch_unsupported', `JSON-RPC batches are only accepted on a session of protocol revision ${BATCH_REVISION}`);
    if (x.req.headers['mcp-session-id'] === undefined) return deny(x, p, refusal, 'mcp.batch');
    const view = await viewFor(x, p, server);
    if (view === undefined) return;
    const session = await sessionOf(x, p, server, 'mcp.batch');
    if (session === undefined) return;
    if (session.protocolVersion !== BATCH_REVISION) return deny(x, p, refusal, 'mcp.batch');
    let members;
    try {
      members = classifyBatch(items, x.correlationId);
    } catch (err) {
      return deny(x, p, toGatehouseError(err), 'mcp.batch');
    }
    const answers: unknown[] = [...members.errors];
    const pending: Promise<void>[] = [];
    for (const m of members.messages) {
      if (m.kind === 'request') {
        const channel = new BatchChannel(session);
        const r = hasReservedMeta(m.message) ? withoutEnvelope(m.message) : m.message;
        pending.push(request(x, p, session, view, r, channel).then(() => void answers.push(channel.response)));
      } else if (m.kind === 'notification') notification(session, m.message);
      else session.answer(m.message.id, m.message.result, m.message.error);
    }
    await Promise.all(pending);
    if (answers.length === 0) {
      x.res.writeHead(202, x.headers);
      x.res.end();
      return;
    }
    sendJson(x.res, 200, answers, { ...x.headers, 'mcp-session-id': session.id });
  }

  async function request(
    x: HttpExchange,
    p: Principal,
    session: Session,
    view: CatalogView,
    request: JsonRpcRequest,
    channel: RequestChannel = new ResponseChannel(session, x.res, { ...x.headers, 'mcp-session-id': session.id }),
  ): Promise<void> {
    x.rpcMethod = request.method;
    const controller = new AbortController();
    session.inflight.set(request.id, { controller, channel });
    const progressToken = (request.params?._meta as { progressToken?: unknown } | undefined)?.progressToken;
    const wantsProgress = typeof progressToken === 'string' || typeof progressToken === 'number';
    let response: unknown;
    try {
      const result = await pipeline({
        principal: p,
        request,
        clientIp: x.clientIp,
        correlationId: x.correlationId,
        signal: controller.signal,
        view,
        session: bridges.get(session),
        onTarget: (connector) => {
          channel.connector = connector;
        },
        onProgress: wantsProgress
          ? (progress) => {
              channel.send({ jsonrpc: '2.0', method: 'notifications/progress', params: { ...progress, progressToken } });
            }
          : undefined,
      });
      response = { jsonrpc: '2.0', id: request.id, result };
    } catch (err) {
      response = rpcError(request.id, toGatehouseError(err), x.correlationId);
    } finally {
      session.inflight.delete(request.id);
    }
    channel.finish(response);
  }

  function notification(session: Session, n: JsonRpcNotification): void {
    if (n.method === 'notifications/cancelled') {
      const id = n.params?.requestId;
      if (typeof id === 'string' || typeof id === 'number') session.inflight.get(id)?.controller.abort();
    } else if (n.method === 'notifications/progress') {
      const token = n.params?.progressToken;
      if (typeof token === 'string' && n.params !== undefined) session.clientProgress.get(token)?.(n.params);
    } else if (n.method === 'notifications/roots/list_changed') {
      bridges.get(session)?.rootsChanged();
    }
  }

  async function get(x: HttpExchange, server: string | null): Promise<void> {
    const p = await authenticateOrRefuse(x, server);
    if (p === undefined) return;
    if (!(x.req.headers.accept ?? '').includes('text/event-stream')) {
      return deny(x, p, new GatehouseError('not_acceptable', 'Accept must include text/event-stream'), 'mcp.stream');
    }
    if ((await viewFor(x, p, server)) === undefined) return;
    const session = await sessionOf(x, p, server, 'mcp.stream');
    if (session === undefined) return;
    const headers = { ...x.headers, 'mcp-session-id': session.id };
    const last = parseEventId(headerOf(x, 'last-event-id'));
    const resumed = last === undefined ? undefined : session.streams.get(last.stream);
    if (last !== undefined && resumed !== undefined) {
      // A client resuming a stream it lost: what it missed, then the rest of that stream as it comes.
      resumed.attach(x.res, headers, { afterSeq: last.seq, keepAliveMs: KEEP_ALIVE_MS });
      await audit.record(httpEvent(x, p, 'mcp.stream.resume', 'allow', null));
      return;
    }
    if (session.standalone?.attached === true) {
      return deny(x, p, new GatehouseError('conflict', 'This session already has an open stream'), 'mcp.stream');
    }
    session.standalone ??= session.streams.open();
    session.standalone.attach(x.res, headers, { keepAliveMs: KEEP_ALIVE_MS, priming: session.primesStreams });
  }

  async function del(x: HttpExchange, server: string | null): Promise<void> {
    const p = await authenticateOrRefuse(x, server);
    if (p === undefined) return;
    const session = await sessionOf(x, p, server, 'mcp.session.delete');
    if (session === undefined) return;
    await audit.record(httpEvent(x, p, 'mcp.session.delete', 'allow', null));
    sessions.end(session.id);
    x.res.writeHead(200, x.headers);
    x.res.end();
  }

  return async function handleMcp(x: HttpExchange, server: string | null = null): Promise<void> {
    switch (x.req.method) {
      case 'POST':
        return post(x, server);
      case 'GET':
        return get(x, server);
      case 'DELETE':
        return del(x, server);
      default:
        throw new GatehouseError('method_not_allowed', 'Method not allowed');
    }
  };
}
