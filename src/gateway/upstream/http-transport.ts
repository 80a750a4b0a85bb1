import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { urlToHttpOptions } from 'node:url';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { ErrorCode } from '@modelcontextprotocol/sdk/types.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js';
import { GatehouseError } from '../../errors.ts';
import { ReplyStreams, RESUMABLE_EVENT_ID } from './reply-streams.ts';
import { readEventStream } from './sse-reader.ts';
import { currentTraceparent } from '../../telemetry/trace-context.ts';

const DELETE_TIMEOUT_MS = 2000;
/** How long connecting waits for the upstream to answer the server stream's GET. */
const STREAM_OPEN_WAIT_MS = 1000;
/** Reconnection delays: the server's SSE `retry` hint or the default, kept within bounds, grown after failures. */
const DEFAULT_RETRY_MS = 1000;
const MIN_RETRY_MS = 100;
const MAX_RETRY_MS = 30_000;
const BACKOFF_FACTOR = 1.5;

/**
 * How a connector that wants OAuth gets its Authorization header (gateway/upstream/oauth). `header()` is on every
 * request and must be cheap (a token held in memory); `prepare()` answers undefined unless a token must be fetched
 * first; `challenge()` is told each 401 and 403 with its WWW-Authenticate and answers whether to send again.
 */
export interface UpstreamAuth {
  header(): string | undefined;
  prepare(): Promise<void> | undefined;
  challenge(status: number, wwwAuthenticate: string | undefined): Promise<boolean>;
}

/** Challenges one request may answer before it fails: a new token, then a step-up; never a loop. */
const MAX_AUTH_CHALLENGES = 2;

/**
 * The client side of MCP Streamable HTTP, for the SDK's Client, on node:http with a keep-alive pool.
 *
 * The SDK's own transport runs every call through fetch and a chain of web streams, which cost the gateway about
 * 1 ms of CPU and a lot of short-lived garbage per call (measured by `npm run bench`); this one parses each reply
 * once. It follows no redirects (an upstream cannot bounce the gateway's credentials elsewhere). A reply stream the
 * upstream closes before the answer resumes on a GET with Last-Event-ID (see ReplyStreams), and so does the server
 * stream; an event id is only ever sent back in the session that issued it.
 */
export class HttpClientTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  sessionId?: string;

  /** The URL as request options, computed once: node:http would convert the URL object again on every request. */
  readonly #target: RequestOptions;
  readonly #headers: Readonly<Record<string, string>>;
  readonly #agent: HttpAgent;
  readonly #request: typeof httpRequest;
  readonly #auth: UpstreamAuth | undefined;
  /** The connector opted in: requests carry the forwarded call's traceparent (telemetry/trace-context.ts). */
  readonly #propagateTraceContext: boolean;
  #protocolVersion: string | undefined;
  #closed = false;
  #stream: IncomingMessage | undefined;
  #streamRetry: NodeJS.Timeout | undefined;
  #streamFailures = 0;
  /** Where the server stream (GET) of the current session was cut, to resume it there. */
  #streamEventId: string | undefined;
  #retryMs: number | undefined;
  readonly #replies = new ReplyStreams({
    session: () => this.sessionId,
    openGet: (headers) => this.#request({ ...this.#target,  method: 'GET', agent: this.#agent, headers: { ...this.#requestHeaders('text/event-stream'), ...headers } }),
    retryDelay: (failures) => this.#retryDelay(failures),
    noteRetry: (ms) => {
      this.#retryMs = ms;
    },
    deliver: (text, requestId) => this.#deliver(text, requestId),
    fail: (requestId, why) => {
      this.#fail(requestId, why);
    },
    lost: (err) => {
      this.#lost(err);
    },
  });

  /** `agent`: the egress agent (src/egress), which checks and pins the address of every new socket. */
  constructor(url: URL, headers: Record<string, string>, agent?: HttpAgent, auth?: UpstreamAuth, propagateTraceContext = false) {
    this.#propagateTraceContext = propagateTraceContext;
    this.#target = urlToHttpOptions(url);
    this.#headers = headers;
    this.#auth = auth;
    const https = url.protocol === 'https:';
    this.#agent = agent ?? (https ? new HttpsAgent({ keepAlive: true, maxSockets: 256 }) : new HttpAgent({ keepAlive: true, maxSockets: 256 }));
    this.#request = https ? httpsRequest : httpRequest;
  }

  start(): Promise<void> {
    return Promise.resolve();
  }

  setProtocolVersion(version: string): void {
    this.#protocolVersion = version;
  }

  #requestHeaders(accept: string, body?: string): Record<string, string> {
    const h: Record<string, string> = { ...this.#headers, accept };
    const authorization = this.#auth?.header();
    if (authorization !== undefined) h.authorization = authorization;
    if (body !== undefined) {
      h['content-type'] = 'application/json';
      h['content-length'] = String(Buffer.byteLength(body));
    }
    if (this.sessionId !== undefined) h['mcp-session-id'] = this.sessionId;
    if (this.#protocolVersion !== undefined) h['mcp-protocol-version'] = this.#protocolVersion;
    if (this.#propagateTraceContext) {
      const traceparent = currentTraceparent();
      if (traceparent !== undefined) h.traceparent = traceparent;
    }
    return h;
  }

  #adoptSession(session: string | string[] | undefined): void {
    if (typeof session !== 'string' || session === '' || session === this.sessionId) return;
    this.sessionId = session;
    this.#streamEventId = undefined;
  }

  /** The wait before reconnecting: at least what the server asked for, longer after each failure, capped. */
  #retryDelay(failures: number): number {
    const base = Math.min(Math.max(this.#retryMs ?? DEFAULT_RETRY_MS, MIN_RETRY_MS), MAX_RETRY_MS);
    return Math.min(base * BACKOFF_FACTOR ** failures, MAX_RETRY_MS);
  }

  /** Resolves once the upstream accepted the message; replies are delivered through `onmessage` as they arrive. */
  send(message: JSONRPCMessage): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('transport closed'));
    if ('method' in message && message.method === 'notifications/cancelled') {
      const cancelled = (message.params as { requestId?: RequestId } | undefined)?.requestId;
      if (cancelled !== undefined) this.#replies.cancel(cancelled);
    }
    const body = JSON.stringify(message);
    const requestId = 'method' in message && 'id' in message ? message.id : undefined;
    return new Promise((resolve, reject) => {
      const post = (retry: boolean, challenges = 0): void => {
      const req = this.#request({ ...this.#target, 
        method: 'POST',
        agent: this.#agent,
        headers: this.#requestHeaders('application/json, text/event-stream', body),
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        // A kept-alive socket the upstream closed as it was reused (its idle timeout) fails before a byte of the
        // request was read: sent again once on a new socket, it is not a lost upstream.
        if (retry && !answered && req.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE') && !this.#closed) {
          post(false, challenges);
          return;
        }
        reject(err);
        this.#lost(err);
      });
      let answered = false;
      req.on('response', (res) => {
        answered = true;
        const status = res.statusCode ?? 0;
        this.#adoptSession(res.headers['mcp-session-id']);
        if (status === 202) {
          res.resume();
          // The upstream's own requests that belong to no call (an elicitation a tool sends with the server's
          // request(), list_changed) go on the server stream, and one sent while it is not yet open is dropped: the
          // connection counts as made once the upstream answered the GET, or after a short wait for one that
          // sends its headers only with its first event.
          if ('method' in message && message.method === 'notifications/initialized') {
            const waited = setTimeout(resolve, STREAM_OPEN_WAIT_MS);
            this.#openStream(() => {
              clearTimeout(waited);
              resolve();
            });
          } else resolve();
          return;
        }
        if ((status === 401 || status === 403) && this.#auth !== undefined) {
          res.resume();
          this.#answerChallenge(status, res.headers['www-authenticate'], challenges).then(
            (again) => {
              if (again) post(retry, challenges + 1);
              else reject(new GatehouseError('upstream_auth_failed', `The upstream refused the gateway's token (HTTP ${String(status)})`));
            },
            reject,
          );
          return;
        }
        if (status < 200 || status >= 300) {
          res.resume();
          const err = new Error(`upstream answered HTTP ${status}`);
          reject(err);
          // A 404 on a session means the upstream forgot it (restarted): the connection must start over.
          if (status === 404 && this.sessionId !== undefined) this.#lost(err);
          return;
        }
        resolve();
        if (!(res.headers['content-type'] ?? '').startsWith('text/event-stream')) this.#readReplyBody(res, requestId);
        else if (requestId !== undefined) this.#replies.read(res, requestId);
        else readEventStream(res, { onMessage: (text) => this.#deliver(text), onId: ignore, onRetry: ignore, onEnd: ignore });
      });
      req.end(body);
      };
      const ready = this.#auth?.prepare();
      if (ready === undefined) post(true);
      else ready.then(() => { post(true); }, reject);
    });
  }

  async #answerChallenge(status: number, header: string | string[] | undefined, challenges: number): Promise<boolean> {
    if (challenges >= MAX_AUTH_CHALLENGES || this.#auth === undefined || this.#closed) return false;
    return this.#auth.challenge(status, Array.isArray(header) ? header.join(', ') : header);
  }

  /** Hands messages on; true when one of them is the answer to `requestId`. */
  #deliver(text: string, requestId?: RequestId): boolean {
    const parsed = parseMessages(text);
    if (parsed === undefined) {
      this.onerror?.(new Error('upstream sent a message that is not JSON-RPC'));
      return false;
    }
    let answered = false;
    for (const m of parsed) {
      if (requestId !== undefined && 'id' in m && m.id === requestId && !('method' in m)) answered = true;
      this.onmessage?.(m);
    }
    return answered;
  }

  #readReplyBody(res: IncomingMessage, requestId: RequestId | undefined): void {
    const chunks: Buffer[] = [];
    let answered = false;
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => {
      answered = this.#deliver(Buffer.concat(chunks).toString('utf8'), requestId);
    });
    // 'close' follows 'end', or replaces it when the body was cut short.
    res.on('close', () => {
      if (!answered && requestId !== undefined) this.#fail(requestId, 'upstream reply ended without an answer');
    });
    res.on('error', () => undefined);
  }

  /** Answers a request whose reply can no longer come with ConnectionClosed, instead of leaving it to the timeout. */
  #fail(requestId: RequestId, why: string): void {
    if (this.#closed) return;
    this.onmessage?.({ jsonrpc: '2.0', id: requestId, error: { code: ErrorCode.ConnectionClosed, message: why } });
    this.onerror?.(new Error(why));
  }

  /** The server stream (GET) carries what the upstream sends unprompted, such as list_changed. */
  #openStream(answered: () => void = ignore): void {
    if (this.#closed || this.#stream !== undefined) {
      answered();
      return;
    }
    const session = this.sessionId;
    const resumeAt = this.#streamEventId;
    const headers = this.#requestHeaders('text/event-stream');
    if (resumeAt !== undefined) headers['last-event-id'] = resumeAt;
    const req = this.#request({ ...this.#target,  method: 'GET', agent: this.#agent, headers });
    req.on('error', () => {
      answered();
      this.#retryStream(true);
    });
    req.on('response', (res) => {
      answered();
      const status = res.statusCode ?? 0;
      // 405 is how the specification says "no server stream"; a stateless upstream with only a POST route (an
      // express app, common in the wild) says it with 404. Without a session a 404 cannot mean a forgotten one.
      if (status === 405 || (status === 404 && session === undefined)) {
        res.resume();
        return; // the upstream offers no server stream
      }
      if (status !== 200) {
        res.resume();
        if (status === 404) this.#lost(new Error('upstream session expired'));
        else {
          // The upstream may no longer know the event it was cut at; start afresh rather than ask again.
          if (status === 400 && resumeAt !== undefined && this.#streamEventId === resumeAt) this.#streamEventId = undefined;
          this.#retryStream(true);
        }
        return;
      }
      this.#stream = res;
      let progressed = false;
      readEventStream(res, {
        onId: (id) => {
          progressed = true;
          if (this.sessionId === session) this.#streamEventId = RESUMABLE_EVENT_ID.test(id) ? id : undefined;
        },
        onRetry: (ms) => {
          this.#retryMs = ms;
        },
        onMessage: (text) => {
          progressed = true;
          for (const m of parseMessages(text) ?? []) this.onmessage?.(m);
        },
        onEnd: () => {
          this.#stream = undefined;
          if (progressed) this.#streamFailures = 0;
          // A stream that ended without a word counts as a failure, so a server that hangs up at once is polled slower.
          this.#retryStream(!progressed);
        },
      });
    });
    req.end();
  }

  #retryStream(failed: boolean): void {
    if (this.#closed) return;
    if (failed) this.#streamFailures++;
    clearTimeout(this.#streamRetry);
    this.#streamRetry = setTimeout(() => {
      this.#openStream();
    }, this.#retryDelay(this.#streamFailures));
    this.#streamRetry.unref();
  }

  /** The upstream is gone (refused, reset, forgot the session): report it and close, failing pending calls. */
  #lost(err: Error): void {
    if (this.#closed) return;
    this.onerror?.(err);
    void this.close();
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    clearTimeout(this.#streamRetry);
    this.#stream?.destroy();
    this.#replies.cancelAll();
    if (this.sessionId !== undefined) {
      // Best effort: tell the upstream the session is over, then let the pool go.
      const req = this.#request({ ...this.#target,  method: 'DELETE', agent: this.#agent, headers: this.#requestHeaders('application/json'), timeout: DELETE_TIMEOUT_MS });
      const done = () => {
        this.#agent.destroy();
      };
      req.on('error', done);
      req.on('timeout', () => req.destroy());
      req.on('response', (res) => {
        res.resume();
        res.on('end', done);
      });
      req.end();
    } else {
      this.#agent.destroy();
    }
    this.onclose?.();
    return Promise.resolve();
  }
}

function ignore(): void {
  // nothing to track for a stream that answers no request
}

function parseMessages(text: string): JSONRPCMessage[] | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const list = Array.isArray(value) ? (value as unknown[]) : [value];
  for (const m of list) {
    if (typeof m !== 'object' || m === null || (m as { jsonrpc?: unknown }).jsonrpc !== '2.0') return undefined;
  }
  return list as JSONRPCMessage[];
}
