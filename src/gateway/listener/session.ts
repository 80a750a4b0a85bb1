import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { GatehouseError } from '../../errors.ts';
import type { RequestId } from '../protocol.ts';
import { plainAnswer, sendJson } from './respond.ts';
import { StreamTable, type EventStream } from './streams.ts';

/** What the client declared at initialize that the gateway may use on its behalf towards upstreams. */
export interface ClientFeatures {
  readonly sampling?: Record<string, unknown>;
  readonly elicitation?: Record<string, unknown>;
  readonly roots?: { listChanged?: boolean };
}

/** Where the messages of one request in flight go: its own answer stream, or a batch's collected answer. */
export interface RequestChannel {
  /** The connector the request went to, once known: messages from that connector's upstream travel here. */
  connector: string | undefined;
  readonly done: boolean;
  send(message: unknown): void;
  /** `refusal`: the failure the response carries, when it has one (a rate limit answers 429 if it can). */
  finish(response: unknown, refusal?: GatehouseError): void;
}

/**
 * The answer to one POST. It stays plain JSON unless something has to travel before the result (progress, a log
 * message, a request to the client); then it becomes an SSE stream with resumable event ids.
 */
export class ResponseChannel implements RequestChannel {
  readonly #session: Session;
  readonly #res: ServerResponse;
  readonly #headers: Record<string, string>;
  #stream: EventStream | undefined;
  #done = false;
  connector: string | undefined;

  constructor(session: Session, res: ServerResponse, headers: Record<string, string>) {
    this.#session = session;
    this.#res = res;
    this.#headers = headers;
  }

  get done(): boolean {
    return this.#done;
  }

  send(message: unknown): void {
    if (this.#done) return;
    if (this.#stream === undefined) {
      this.#stream = this.#session.streams.open();
      this.#stream.attach(this.#res, this.#headers, { priming: this.#session.primesStreams });
    }
    this.#stream.send(message);
  }

  finish(response: unknown, refusal?: GatehouseError): void {
    if (this.#done) return;
    this.#done = true;
    if (this.#stream === undefined) {
      const { status, headers } = plainAnswer(refusal);
      if (!this.#res.writableEnded && !this.#res.destroyed) sendJson(this.#res, status, response, { ...this.#headers, ...headers });
      return;
    }
    // The answer goes out a macrotask after the last notification, in its own write: SDK clients dispatch a
    // notification later than a response read in the same chunk and would drop it (typescript-sdk#2580).
    const stream = this.#stream;
    setImmediate(() => {
      stream.send(response);
      stream.finish();
    });
  }
}

interface Inflight {
  readonly controller: AbortController;
  readonly channel: RequestChannel;
}

interface Outbound {
  readonly resolve: (result: Record<string, unknown>) => void;
  readonly reject: (err: Error) => void;
}

/**
 * One MCP session: bound to the key that created it and the endpoint (the whole catalog or one virtual server) it
 * was created on. It knows how to reach its client: on the answer stream of a request in flight, or on the
 * standalone GET stream, and it keeps the requests the gateway sent to the client until they are answered.
 */
export class Session {
  readonly id = randomBytes(32).toString('base64url');
  readonly orgId: string;
  readonly keyId: string;
  /** The person the session's key or token acts for, if any: a connector with OAuth per user uses their tokens. */
  readonly userId: string | null;
  /** The virtual server this session was opened on; null for the organisation's whole catalog at /mcp. */
  readonly server: string | null;
  readonly protocolVersion: string;
  readonly client: ClientFeatures;
  lastSeen = Date.now();
  readonly streams = new StreamTable();
  /** The standalone stream (GET) for messages not tied to a request. */
  standalone: EventStream | undefined;
  readonly inflight = new Map<RequestId, Inflight>();
  readonly #outbound = new Map<string, Outbound>();
  #nextOutbound = 1;
  /** The client's progress on requests of ours, by the progress token we gave it. */
  readonly clientProgress = new Map<string, (params: Record<string, unknown>) => void>();
  /** Called when the session ends (upstream connections of the session are closed there). */
  onEnd: (() => void) | undefined;

  constructor(init: { orgId: string; keyId: string; userId?: string | null; server: string | null; protocolVersion: string; client: ClientFeatures }) {
    this.orgId = init.orgId;
    this.keyId = init.keyId;
    this.userId = init.userId ?? null;
    this.server = init.server;
    this.protocolVersion = init.protocolVersion;
    this.client = init.client;
  }

  /** 2025-11-25 clients expect a priming event (an id, no data) first on every stream; older ones do not know it. */
  get primesStreams(): boolean {
    return this.protocolVersion >= '2025-11-25';
  }

  /** Whether the client declared a feature the gateway must route back to it (sampling, elicitation, roots). */
  get answersRequests(): boolean {
    return this.client.sampling !== undefined || this.client.elicitation !== undefined || this.client.roots !== undefined;
  }

  /**
   * Delivers a message for the client: on the answer stream of the newest request in flight to `connector` when
   * there is one (the message belongs to that call), otherwise on the standalone stream, whose replay buffer keeps
   * it until the client (re)connects. Returns false when the session has no stream at all for it.
   */
  deliver(message: unknown, connector?: string): boolean {
    if (connector !== undefined) {
      let target: RequestChannel | undefined;
      for (const f of this.inflight.values()) if (f.channel.connector === connector && !f.channel.done) target = f.channel;
      if (target !== undefined) {
        target.send(message);
        return true;
      }
    }
    if (this.standalone !== undefined && !this.standalone.finished) {
      this.standalone.send(message);
      return true;
    }
    return false;
  }

  /** Sends a request to the client and waits for its answer (which arrives as a POSTed JSON-RPC response). */
  request(method: string, params: Record<string, unknown> | undefined, connector: string, signal: AbortSignal): Promise<Record<string, unknown>> {
    const id = `gatehouse-${this.#nextOutbound++}`;
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.#outbound.delete(id);
        this.deliver({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, reason: 'cancelled by the server' } }, connector);
        reject(new GatehouseError('request_cancelled', 'Request cancelled'));
      };
      const settle = () => {
        signal.removeEventListener('abort', onAbort);
        this.#outbound.delete(id);
      };
      this.#outbound.set(id, {
        resolve: (r) => {
          settle();
          resolve(r);
        },
        reject: (e) => {
          settle();
          reject(e);
        },
      });
      signal.addEventListener('abort', onAbort, { once: true });
      const message = { jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) };
      if (!this.deliver(message, connector)) {
        settle();
        reject(new GatehouseError('upstream_error', 'The client has no open stream to receive the request'));
      }
    });
  }

  /** A JSON-RPC response POSTed by the client: settles the matching request of ours. False when there is none. */
  answer(id: RequestId, result: unknown, error: unknown): boolean {
    const pending = typeof id === 'string' ? this.#outbound.get(id) : undefined;
    if (pending === undefined) return false;
    if (error !== undefined) pending.reject(new ClientAnswerError(error));
    else if (typeof result === 'object' && result !== null && !Array.isArray(result)) pending.resolve(result as Record<string, unknown>);
    else pending.reject(new ClientAnswerError({ code: -32603, message: 'Invalid result' }));
    return true;
  }

  end(): void {
    for (const f of this.inflight.values()) f.controller.abort();
    for (const o of this.#outbound.values()) o.reject(new GatehouseError('request_cancelled', 'Session ended'));
    this.#outbound.clear();
    this.standalone?.finish();
    this.streams.closeAll();
    this.onEnd?.();
  }
}

/** The client answered one of our requests with a JSON-RPC error; carried back to the upstream as such. */
export class ClientAnswerError extends Error {
  readonly error: { code: number; message: string; data?: unknown };

  constructor(error: unknown) {
    const e = typeof error === 'object' && error !== null ? (error as Record<string, unknown>) : {};
    const code = typeof e.code === 'number' && Number.isSafeInteger(e.code) ? e.code : -32603;
    const message = typeof e.message === 'string' ? e.message.slice(0, 500) : 'Client error';
    super(message);
    this.name = 'ClientAnswerError';
    this.error = { code, message, ...(e.data === undefined ? {} : { data: e.data }) };
  }
}
