import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Config } from '../../config/schema.ts';
import type { AuditDecision, AuditEvent } from '../../store/types.ts';
import { GatehouseError, toGatehouseError } from '../../errors.ts';
import { SYSTEM_CHAIN, type AuditLog } from '../audit/audit-log.ts';
import type { Authenticate, Principal } from '../authn/authenticate.ts';
import type { Pipeline } from '../pipeline.ts';
import { classifyMessage, exceedsDepth, isSupportedVersion, type JsonRpcNotification, type JsonRpcRequest } from '../protocol.ts';
import { readBody } from './body.ts';
import { rpcError, sendHttpError, sendJson } from './respond.ts';
import type { Session, SessionRegistry } from './sessions.ts';
import { SseStream } from './sse.ts';

export interface McpEndpointDeps {
  readonly config: Pick<Config, 'maxBodyBytes' | 'maxJsonDepth'>;
  readonly authenticate: Authenticate;
  readonly pipeline: Pipeline;
  readonly sessions: SessionRegistry;
  readonly audit: AuditLog;
  readonly log: Logger;
}

/** Per-request facts the listener gathered before the endpoint runs. */
export interface HttpExchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly correlationId: string;
  readonly clientIp: string | null;
  /** Security, CORS and correlation headers for the response. */
  readonly headers: Record<string, string>;
  principal?: Principal;
  rpcMethod?: string;
}

const UNAUTHENTICATED = new GatehouseError('unauthenticated', 'Authentication required');
const KEEP_ALIVE_MS = 25_000;

/**
 * MCP Streamable HTTP (2025-03-26 .. 2025-11-25): POST carries one JSON-RPC message and is answered with JSON or,
 * when the request asked for progress, an SSE stream; GET opens the session's server stream; DELETE ends the
 * session. Each body is parsed once; results are serialised once.
 */
export function createMcpEndpoint(deps: McpEndpointDeps) {
  const { sessions, pipeline, audit } = deps;

  async function authenticateOrRefuse(x: HttpExchange): Promise<Principal | undefined> {
    const result = await deps.authenticate(x.req.headers.authorization, Date.now());
    if (result.ok) {
      x.principal = result.principal;
      return result.principal;
    }
    await audit.record(
      httpEvent(x, { orgId: result.orgId ?? SYSTEM_CHAIN, keyId: result.keyId }, 'auth.failed', 'deny', result.reason, `${x.req.method ?? ''} /mcp`),
    );
    // The same status, header and body for every failure: no hint whether a key exists, expired or was revoked.
    sendHttpError(x.res, UNAUTHENTICATED, { ...x.headers, 'www-authenticate': 'Bearer realm="gatehouse"' });
    return undefined;
  }

  async function deny(x: HttpExchange, p: Principal, err: GatehouseError, action: string): Promise<void> {
    await audit.record(httpEvent(x, p, action, 'deny', err.code));
    sendHttpError(x.res, err, x.headers, x.correlationId);
  }

  /** Finds the request's session; answers 400/404 itself and returns undefined when there is none to use. */
  async function sessionOf(x: HttpExchange, p: Principal, action: string): Promise<Session | undefined> {
    const id = x.req.headers['mcp-session-id'];
    if (typeof id !== 'string' || id === '') {
      await deny(x, p, new GatehouseError('session_required', 'Mcp-Session-Id header is required'), action);
      return undefined;
    }
    const found = sessions.find(id, p);
    if (found.session === undefined) {
      await deny(x, p, new GatehouseError('session_not_found', 'Session not found'), found.mismatch ? `${action}.foreign_session` : action);
      return undefined;
    }
    const version = x.req.headers['mcp-protocol-version'];
    if (typeof version === 'string' && (!isSupportedVersion(version) || version !== found.session.protocolVersion)) {
      await deny(x, p, new GatehouseError('unsupported_protocol_version', `Unsupported MCP-Protocol-Version: ${version.slice(0, 32)}`), action);
      return undefined;
    }
    return found.session;
  }

  // Authentication comes first so that every refusal after it is audited under the caller's organisation.
  async function post(x: HttpExchange): Promise<void> {
    const { req } = x;
    const p = await authenticateOrRefuse(x);
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
    let message;
    try {
      message = classifyMessage(parsed);
    } catch (err) {
      return deny(x, p, toGatehouseError(err), 'mcp.invalid');
    }
    if (message.kind === 'request' && message.message.method === 'initialize') return initialize(x, p, message.message);
    const session = await sessionOf(x, p, message.kind === 'request' ? `mcp.${message.message.method.slice(0, 64)}` : 'mcp.message');
    if (session === undefined) return;
    if (message.kind === 'request') return request(x, p, session, message.message);
    if (message.kind === 'notification') notification(session, message.message);
    x.res.writeHead(202, x.headers);
    x.res.end();
  }

  async function initialize(x: HttpExchange, p: Principal, request: JsonRpcRequest): Promise<void> {
    x.rpcMethod = 'initialize';
    if (x.req.headers['mcp-session-id'] !== undefined) {
      return deny(x, p, new GatehouseError('invalid_request', 'initialize must not carry a session id'), 'mcp.initialize');
    }
    const controller = new AbortController();
    let result: unknown;
    try {
      result = await pipeline({ principal: p, request, clientIp: x.clientIp, correlationId: x.correlationId, signal: controller.signal });
    } catch (err) {
      sendJson(x.res, 200, rpcError(request.id, toGatehouseError(err), x.correlationId), x.headers);
      return;
    }
    const session = sessions.create(p, (result as { protocolVersion: string }).protocolVersion);
    sendJson(x.res, 200, { jsonrpc: '2.0', id: request.id, result }, { ...x.headers, 'mcp-session-id': session.id });
  }

  async function request(x: HttpExchange, p: Principal, session: Session, request: JsonRpcRequest): Promise<void> {
    x.rpcMethod = request.method;
    const controller = new AbortController();
    session.inflight.set(request.id, controller);
    const progressToken = (request.params?._meta as { progressToken?: unknown } | undefined)?.progressToken;
    const wantsProgress = typeof progressToken === 'string' || typeof progressToken === 'number';
    // Progress needs a stream to travel on: answer such a request with SSE, everything else with plain JSON.
    const stream = wantsProgress ? new SseStream(x.res, { ...x.headers, 'mcp-session-id': session.id }) : undefined;
    let response: unknown;
    try {
      const result = await pipeline({
        principal: p,
        request,
        clientIp: x.clientIp,
        correlationId: x.correlationId,
        signal: controller.signal,
        onProgress: stream && ((progress) => {
          stream.send({ jsonrpc: '2.0', method: 'notifications/progress', params: { ...progress, progressToken } });
        }),
      });
      response = { jsonrpc: '2.0', id: request.id, result };
    } catch (err) {
      response = rpcError(request.id, toGatehouseError(err), x.correlationId);
    } finally {
      session.inflight.delete(request.id);
    }
    if (stream !== undefined) {
      stream.send(response);
      stream.end();
    } else {
      sendJson(x.res, 200, response, { ...x.headers, 'mcp-session-id': session.id });
    }
  }

  function notification(session: Session, n: JsonRpcNotification): void {
    if (n.method === 'notifications/cancelled') {
      const id = n.params?.requestId;
      if (typeof id === 'string' || typeof id === 'number') session.inflight.get(id)?.abort();
    }
  }

  async function get(x: HttpExchange): Promise<void> {
    const p = await authenticateOrRefuse(x);
    if (p === undefined) return;
    if (!(x.req.headers.accept ?? '').includes('text/event-stream')) {
      return deny(x, p, new GatehouseError('not_acceptable', 'Accept must include text/event-stream'), 'mcp.stream');
    }
    const session = await sessionOf(x, p, 'mcp.stream');
    if (session === undefined) return;
    if (session.stream !== undefined && !session.stream.closed) {
      return deny(x, p, new GatehouseError('conflict', 'This session already has an open stream'), 'mcp.stream');
    }
    const stream = new SseStream(x.res, { ...x.headers, 'mcp-session-id': session.id }, KEEP_ALIVE_MS);
    session.stream = stream;
    x.res.on('close', () => {
      if (session.stream === stream) session.stream = undefined;
    });
  }

  async function del(x: HttpExchange): Promise<void> {
    const p = await authenticateOrRefuse(x);
    if (p === undefined) return;
    const session = await sessionOf(x, p, 'mcp.session.delete');
    if (session === undefined) return;
    await audit.record(httpEvent(x, p, 'mcp.session.delete', 'allow', null));
    sessions.end(session.id);
    x.res.writeHead(200, x.headers);
    x.res.end();
  }

  return async function handleMcp(x: HttpExchange): Promise<void> {
    switch (x.req.method) {
      case 'POST':
        return post(x);
      case 'GET':
        return get(x);
      case 'DELETE':
        return del(x);
      default:
        throw new GatehouseError('method_not_allowed', 'Method not allowed');
    }
  };
}

/** An audit event for something the endpoint decided itself (authentication, sessions, malformed input). */
function httpEvent(
  x: HttpExchange,
  who: { orgId: string; keyId?: string | undefined },
  action: string,
  decision: AuditDecision,
  reason: string | null,
  targetName: string | null = null,
): AuditEvent {
  return {
    ts: new Date().toISOString(),
    orgId: who.orgId,
    actorKeyId: who.keyId ?? null,
    actorUser: null,
    clientIp: x.clientIp,
    action,
    targetConnector: null,
    targetName,
    decision,
    reason,
    latencyMs: null,
    correlationId: x.correlationId,
    args: null,
  };
}
