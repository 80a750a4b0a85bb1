import type { Config } from '../../config/schema.ts';
import { GatehouseError } from '../../errors.ts';
import { newAuditFacts, type Call, type SessionOps, type Transport } from '../call.ts';
import type { Pipeline } from '../pipeline.ts';
import { classifyMessage, exceedsDepth, isSupportedVersion, type JsonRpcMessage, type JsonRpcNotification, type JsonRpcRequest } from '../protocol.ts';
import { BATCH_REVISION, BatchChannel, classifyBatch } from './batch.ts';
import { readBody } from './body.ts';
import { carriesEnvelope, hasReservedMeta, withoutEnvelope } from './envelope.ts';
import { clientFeatures, headerOf, pathOf, type HttpExchange } from './exchange.ts';
import { rpcError, sendHttpError, sendJson } from './respond.ts';
import { ResponseChannel, type RequestChannel, type Session } from './session.ts';
import type { SessionRegistry } from './sessions.ts';
import type { Quotas } from '../traffic/quotas.ts';
import type { StatelessMode, StatelessReply } from './stateless.ts';
import { parseEventId } from './streams.ts';

export type { HttpExchange } from './exchange.ts';

/** A session's bridge to its upstreams: what the pipeline asks of it, and what the endpoint tells it. */
export interface SessionBridge extends SessionOps {
  rootsChanged(): void;
  close(): Promise<void>;
}

export interface McpEndpointDeps {
  readonly config: Pick<Config, 'maxBodyBytes' | 'maxJsonDepth'>;
  readonly pipeline: Pipeline;
  readonly sessions: SessionRegistry;
  /** What keys and organisations hold open (traffic/quotas.ts): a GET stream holds a `stream`. */
  readonly quotas: Quotas;
  readonly bridge: (session: Session) => SessionBridge;
  /** Serves requests of the stateless revision (2026-07-28), recognised by the `_meta` envelope of their body. */
  readonly stateless: StatelessMode;
}

const KEEP_ALIVE_MS = 25_000;
const NEVER_ABORTED = new AbortController().signal;

/**
 * MCP Streamable HTTP at /mcp and /servers/{name}/mcp: the `receive` and `respond` of the data path for HTTP. POST
 * carries one JSON-RPC message (or a 2025-03-26 batch) and is answered with JSON, or with an SSE stream when
 * something has to reach the client before the result; GET opens the session's standalone stream or resumes a broken
 * one from Last-Event-ID; DELETE ends the session. Each body is parsed once; results are serialised once. Every HTTP
 * request is one call of the pipeline (each member of a batch its own), and so one audit record.
 */
export function createMcpEndpoint(deps: McpEndpointDeps) {
  const bridges = new WeakMap<Session, SessionBridge>();
  const env: Env = { ...deps, bridges };

  return async function handleMcp(x: HttpExchange, server: string | null = null): Promise<void> {
    const call: Call = {
      direction: 'client',
      correlationId: x.correlationId,
      clientIp: x.clientIp,
      started: performance.now(),
      server,
      authorization: x.req.headers.authorization,
      idempotencyKey: oneHeader(x.req.headers['idempotency-key']),
      requestLine: `${x.req.method ?? ''} ${pathOf(x)}`,
      transport: new ExchangeTransport(x, env),
      signal: NEVER_ABORTED,
      audit: newAuditFacts(x.req.method === 'GET' ? 'mcp.stream' : x.req.method === 'DELETE' ? 'mcp.session.delete' : 'mcp.invalid'),
    };
    await deps.pipeline.run(call);
  };
}

/** A header sent more than once reads as its values joined, as Node joins most headers. */
function oneHeader(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(', ') : v;
}

interface Env extends McpEndpointDeps {
  readonly bridges: WeakMap<Session, SessionBridge>;
}

type Kind = 'request' | 'initialize' | 'accepted' | 'stream' | 'delete' | 'batch';

/** One HTTP exchange's transport: what it read, and how its answer goes back. */
class ExchangeTransport implements Transport {
  readonly #x: HttpExchange;
  readonly #env: Env;
  #kind: Kind | undefined;
  #session: Session | undefined;
  #channel: RequestChannel | undefined;
  #stateless: StatelessReply | undefined;
  #answers: unknown[] = [];
  readonly #batchChannels: BatchChannel[] = [];

  constructor(x: HttpExchange, env: Env) {
    this.#x = x;
    this.#env = env;
  }

  receive(call: Call): Promise<void> | void {
    switch (this.#x.req.method) {
      case 'POST':
        return this.#post(call);
      case 'GET':
        this.#get(call);
        return;
      case 'DELETE':
        this.#session = this.#sessionOf(call);
        this.#kind = 'delete';
        return;
      default:
        throw new GatehouseError('method_not_allowed', 'Method not allowed');
    }
  }

  admitted(call: Call): void {
    this.#stateless?.admitted(call);
  }

  async #post(call: Call): Promise<void> {
    const { req, res } = this.#x;
    if (!(req.headers['content-type'] ?? '').toLowerCase().startsWith('application/json')) {
      throw new GatehouseError('unsupported_media_type', 'Content-Type must be application/json');
    }
    const accept = req.headers.accept ?? '';
    if (!accept.includes('application/json') || !accept.includes('text/event-stream')) {
      throw new GatehouseError('not_acceptable', 'Accept must include application/json and text/event-stream');
    }
    let text: string;
    try {
      text = await readBody(req, this.#env.config.maxBodyBytes);
    } catch (err) {
      // The rest of an oversized body is not read: answer, then drop the connection.
      res.once('finish', () => req.destroy());
      throw err;
    }
    if (exceedsDepth(text, this.#env.config.maxJsonDepth)) throw new GatehouseError('invalid_request', 'JSON nested too deeply');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new GatehouseError('parse_error', 'Parse error');
    }
    if (Array.isArray(parsed)) {
      this.#batch(call, parsed);
      return;
    }
    const message = classifyMessage(parsed);
    if (carriesEnvelope(message)) {
      this.#stateless = this.#env.stateless.exchange(this.#x);
      this.#stateless.receive(call, message);
      return;
    }
    if (message.kind === 'request' && message.message.method === 'initialize') {
      this.#initialize(call, message.message);
      return;
    }
    call.audit.action = message.kind === 'request' ? `mcp.${message.message.method.slice(0, 64)}` : `mcp.${message.kind}`;
    const session = this.#sessionOf(call);
    this.#accept(call, session, message);
  }

  /** A message of a session: a request runs on; a notification or a response to one of ours is taken here. */
  #accept(call: Call, session: Session, message: JsonRpcMessage, channel?: RequestChannel): void {
    this.#session = session;
    if (message.kind === 'request') {
      this.#kind = 'request';
      // Reserved `io.modelcontextprotocol/*` _meta keys describe the client's hop and never travel upstream.
      const request = hasReservedMeta(message.message) ? withoutEnvelope(message.message) : message.message;
      this.#request(call, session, request, channel ?? new ResponseChannel(session, this.#x.res, { ...this.#x.headers, 'mcp-session-id': session.id }));
      return;
    }
    this.#kind = 'accepted';
    if (message.kind === 'notification') {
      const n = message.message;
      call.local = () => {
        this.#notification(session, n);
      };
      return;
    }
    const { id, result, error } = message.message;
    call.local = () => {
      if (!session.answer(id, result, error)) throw new GatehouseError('invalid_request', 'No request of this session has that id');
    };
  }

  #request(call: Call, session: Session, request: JsonRpcRequest, channel: RequestChannel): void {
    this.#x.rpcMethod = request.method;
    const controller = new AbortController();
    session.inflight.set(request.id, { controller, channel });
    this.#channel = channel;
    call.request = request;
    call.protocolVersion = session.protocolVersion;
    call.signal = controller.signal;
    const bridge = this.#env.bridges.get(session);
    if (bridge !== undefined) call.session = bridge;
    call.onTarget = (connector) => {
      channel.connector = connector;
    };
    const progressToken = (request.params?._meta as { progressToken?: unknown } | undefined)?.progressToken;
    if (typeof progressToken === 'string' || typeof progressToken === 'number') {
      call.onProgress = (progress) => {
        channel.send({ jsonrpc: '2.0', method: 'notifications/progress', params: { ...progress, progressToken } });
      };
    }
  }

  #initialize(call: Call, request: JsonRpcRequest): void {
    this.#x.rpcMethod = 'initialize';
    call.audit.action = 'mcp.initialize';
    if (this.#x.req.headers['mcp-session-id'] !== undefined) throw new GatehouseError('invalid_request', 'initialize must not carry a session id');
    this.#kind = 'initialize';
    call.request = request;
  }

  /**
   * The gateway answered the initialize (the method table says it does); the session is made now, before the audit
   * record, so a refusal (too many sessions) is what gets recorded.
   */
  answered(call: Call): void {
    if (this.#kind !== 'initialize' || call.principal === undefined) return;
    const { protocolVersion } = call.result as { protocolVersion: string };
    const session = this.#env.sessions.create(call.principal, protocolVersion, call.server, clientFeatures(call.request?.params?.capabilities));
    const bridge = this.#env.bridge(session);
    this.#env.bridges.set(session, bridge);
    session.onEnd = () => void bridge.close();
    this.#session = session;
  }

  /**
   * A JSON-RPC batch: only on a 2025-03-26 session. Each request in it is a call of its own (and an audit record of
   * its own); notifications and responses are taken at once; the answers go back in one JSON array.
   */
  #batch(call: Call, items: unknown[]): void {
    call.audit.action = 'mcp.batch';
    const refusal = new GatehouseError('batch_unsupported', `JSON-RPC batches are only accepted on a session of protocol revision ${BATCH_REVISION}`);
    if (this.#x.req.headers['mcp-session-id'] === undefined) throw refusal;
    const session = this.#sessionOf(call);
    if (session.protocolVersion !== BATCH_REVISION) throw refusal;
    const { messages, errors } = classifyBatch(items, this.#x.correlationId);
    this.#kind = 'batch';
    this.#session = session;
    this.#answers = errors;
    const members: Call[] = [];
    for (const m of messages) {
      if (m.kind === 'notification') this.#notification(session, m.message);
      else if (m.kind === 'response') session.answer(m.message.id, m.message.result, m.message.error);
      if (m.kind !== 'request') continue;
      const channel = new BatchChannel(session);
      this.#batchChannels.push(channel);
      const t = new ExchangeTransport(this.#x, this.#env);
      const member: Call = { ...call, idempotencyKey: undefined, transport: t, audit: { ...newAuditFacts(`mcp.${m.message.method.slice(0, 64)}`), orgId: call.audit.orgId, actor: call.audit.actor } };
      t.#accept(member, session, m, channel);
      members.push(member);
    }
    if (members.length > 0) call.members = members;
  }

  /** Finds the request's session (400/404 when there is none to use) and checks the revision it names. */
  #sessionOf(call: Call): Session {
    const id = this.#x.req.headers['mcp-session-id'];
    if (typeof id !== 'string' || id === '') throw new GatehouseError('session_required', 'Mcp-Session-Id header is required');
    const p = call.principal;
    const found = p === undefined ? { mismatch: false } : this.#env.sessions.find(id, p, call.server);
    if (found.session === undefined) {
      if (found.mismatch) call.audit.action = `${call.audit.action}.foreign_session`;
      throw new GatehouseError('session_not_found', 'Session not found');
    }
    // Any revision the gateway serves is accepted on a request of a session (as the SDK's server does); the checks
    // that follow are the same whichever it names.
    const version = this.#x.req.headers['mcp-protocol-version'];
    if (typeof version === 'string' && !isSupportedVersion(version)) {
      throw new GatehouseError('unsupported_protocol_version', `Unsupported MCP-Protocol-Version: ${version.slice(0, 32)}`);
    }
    return found.session;
  }

  #get(call: Call): void {
    if (!(this.#x.req.headers.accept ?? '').includes('text/event-stream')) throw new GatehouseError('not_acceptable', 'Accept must include text/event-stream');
    const session = this.#sessionOf(call);
    const last = parseEventId(headerOf(this.#x, 'last-event-id'));
    const resumed = last === undefined ? undefined : session.streams.get(last.stream);
    if (last !== undefined && resumed !== undefined) call.audit.action = 'mcp.stream.resume';
    else if (session.standalone?.attached === true) throw new GatehouseError('conflict', 'This session already has an open stream');
    // Held while this response is open, whatever ends it (the client, the session, a failure after this point).
    const release = this.#env.quotas.acquire('stream', session.orgId, session.keyId);
    this.#x.res.once('close', release);
    this.#session = session;
    this.#kind = 'stream';
  }

  #notification(session: Session, n: JsonRpcNotification): void {
    if (n.method === 'notifications/cancelled') {
      const id = n.params?.requestId;
      if (typeof id === 'string' || typeof id === 'number') session.inflight.get(id)?.controller.abort();
    } else if (n.method === 'notifications/progress') {
      const token = n.params?.progressToken;
      if (typeof token === 'string' && n.params !== undefined) session.clientProgress.get(token)?.(n.params);
    } else if (n.method === 'notifications/roots/list_changed') {
      this.#env.bridges.get(session)?.rootsChanged();
    }
  }

  respond(call: Call): void {
    const x = this.#x;
    if (call.principal !== undefined) x.principal = call.principal;
    if (this.#stateless !== undefined) {
      this.#stateless.respond(call);
      return;
    }
    const failure = call.failure;
    const id = call.request?.id;
    if (this.#channel !== undefined) {
      if (id !== undefined) this.#session?.inflight.delete(id);
      this.#channel.finish(failure === undefined ? { jsonrpc: '2.0', id, result: call.result } : rpcError(id ?? null, failure, call.correlationId), failure);
      return;
    }
    if (failure !== undefined && this.#kind !== 'batch') {
      // An initialize the pipeline failed gets a JSON-RPC error; refusals of the HTTP request itself are HTTP errors.
      if (this.#kind === 'initialize' && id !== undefined && failure.code !== 'too_many_sessions') {
        sendJson(x.res, 200, rpcError(id, failure, call.correlationId), x.headers);
        return;
      }
      const headers = call.challenge === undefined ? x.headers : { ...x.headers, 'www-authenticate': call.challenge };
      // Refusals of a credential read the same for every caller: no correlation id in the body.
      sendHttpError(x.res, failure, headers, call.challenge === undefined ? call.correlationId : undefined);
      return;
    }
    const session = this.#session;
    const sessionHeaders = session === undefined ? x.headers : { ...x.headers, 'mcp-session-id': session.id };
    switch (this.#kind) {
      case 'initialize':
        sendJson(x.res, 200, { jsonrpc: '2.0', id, result: call.result }, sessionHeaders);
        return;
      case 'batch':
        for (const c of this.#batchChannels) this.#answers.push(c.response);
        if (this.#answers.length === 0) {
          x.res.writeHead(202, x.headers);
          x.res.end();
        } else sendJson(x.res, 200, this.#answers, sessionHeaders);
        return;
      case 'stream':
        if (session !== undefined) this.#attach(session, sessionHeaders);
        return;
      case 'delete':
        if (session !== undefined) this.#env.sessions.end(session.id);
        x.res.writeHead(200, x.headers);
        x.res.end();
        return;
      default:
        x.res.writeHead(202, x.headers);
        x.res.end();
    }
  }

  #attach(session: Session, headers: Record<string, string>): void {
    const last = parseEventId(headerOf(this.#x, 'last-event-id'));
    const resumed = last === undefined ? undefined : session.streams.get(last.stream);
    if (last !== undefined && resumed !== undefined) {
      // A client resuming a stream it lost: what it missed, then the rest of that stream as it comes.
      resumed.attach(this.#x.res, headers, { afterSeq: last.seq, keepAliveMs: KEEP_ALIVE_MS });
      return;
    }
    session.standalone ??= session.streams.open();
    session.standalone.attach(this.#x.res, headers, { keepAliveMs: KEEP_ALIVE_MS, priming: session.primesStreams });
  }
}
