import type { ClientRequest, IncomingMessage } from 'node:http';
import type { RequestId } from '@modelcontextprotocol/sdk/types.js';
import { readEventStream } from './sse-reader.ts';

/** Reconnections of one reply stream in a row that bring nothing new before its request fails. */
const MAX_RESUME_FAILURES = 3;
/** An event id goes back in a header: only short printable ASCII ones are kept as resume points. */
export const RESUMABLE_EVENT_ID = /^[\x20-\x7e]{1,1024}$/;

/** What the reply streams need of their transport. */
export interface ReplyStreamHost {
  /** The transport's current session id. */
  session(): string | undefined;
  /** A GET on the MCP endpoint with the transport's own headers (credentials, session, version) and these. */
  openGet(headers: Record<string, string>): ClientRequest;
  /** How long to wait before a reconnection after `failures` failed ones. */
  retryDelay(failures: number): number;
  /** The server's SSE `retry` hint. */
  noteRetry(ms: number): void;
  /** Hands the messages in `text` on; true when one of them answers `requestId`. */
  deliver(text: string, requestId: RequestId): boolean;
  /** Answers `requestId` with ConnectionClosed. */
  fail(requestId: RequestId, why: string): void;
  /** The upstream forgot the session: the transport must close. */
  lost(err: Error): void;
}

interface ReplyStream {
  readonly requestId: RequestId;
  /** The session the stream belongs to: its event ids mean nothing in another session. */
  readonly session: string | undefined;
  lastEventId: string | undefined;
  failures: number;
  timer: NodeJS.Timeout | undefined;
  /** Drops the connection that carries the stream now, if any. */
  abort: (() => void) | undefined;
}

/**
 * The SSE reply streams of requests in flight. An upstream may close one before the answer once it gave the stream
 * an event id (SSE polling, MCP 2025-11-25, SEP-1699); the stream then continues on a GET with Last-Event-ID after
 * the server's `retry` delay, for as long as reconnecting brings something new. Without an event id, when the
 * upstream refuses to resume (405, 404, another 4xx, a redirect, which is never followed), when the upstream is no
 * longer listening, or after a few reconnections in a row that bring nothing, the request is answered with
 * ConnectionClosed at once rather than left to the client's timeout.
 */
export class ReplyStreams {
  readonly #host: ReplyStreamHost;
  readonly #open = new Map<RequestId, ReplyStream>();

  constructor(host: ReplyStreamHost) {
    this.#host = host;
  }

  /** Reads the SSE reply to the POST of `requestId`. */
  read(res: IncomingMessage, requestId: RequestId): void {
    const stream: ReplyStream = {
      requestId,
      session: this.#host.session(),
      lastEventId: undefined,
      failures: 0,
      timer: undefined,
      abort: () => res.destroy(),
    };
    this.#open.set(requestId, stream);
    this.#read(res, stream, false);
  }

  /** The client gave the request up (cancelled, timed out): stop following its stream. */
  cancel(requestId: RequestId): void {
    const stream = this.#open.get(requestId);
    if (stream !== undefined) this.#settle(stream, true);
  }

  cancelAll(): void {
    for (const stream of [...this.#open.values()]) this.#settle(stream, true);
  }

  #isOpen(stream: ReplyStream): boolean {
    return this.#open.get(stream.requestId) === stream;
  }

  #read(res: IncomingMessage, stream: ReplyStream, resumed: boolean): void {
    let progressed = false;
    readEventStream(res, {
      onId: (id) => {
        stream.lastEventId = RESUMABLE_EVENT_ID.test(id) ? id : undefined;
        progressed = true;
      },
      onRetry: (ms) => {
        this.#host.noteRetry(ms);
      },
      onMessage: (text) => {
        // The upstream ends a POST's stream after the answer; a resumed one may stay open and is dropped.
        if (this.#host.deliver(text, stream.requestId)) this.#settle(stream, resumed);
      },
      onEnd: () => {
        if (!this.#isOpen(stream)) return;
        stream.failures = progressed ? 0 : stream.failures + 1;
        this.#resume(stream, 'upstream reply ended without an answer');
      },
    });
  }

  #resume(stream: ReplyStream, why: string): void {
    stream.abort = undefined;
    if (stream.lastEventId === undefined || stream.session !== this.#host.session() || stream.failures > MAX_RESUME_FAILURES) {
      this.#fail(stream, why);
      return;
    }
    stream.timer = setTimeout(() => {
      stream.timer = undefined;
      this.#reconnect(stream);
    }, this.#host.retryDelay(stream.failures));
    stream.timer.unref();
  }

  #reconnect(stream: ReplyStream): void {
    const lastEventId = stream.lastEventId;
    if (!this.#isOpen(stream)) return;
    if (lastEventId === undefined || stream.session !== this.#host.session()) {
      this.#fail(stream, 'upstream session changed before its reply stream resumed');
      return;
    }
    const req = this.#host.openGet({ 'last-event-id': lastEventId });
    stream.abort = () => req.destroy();
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (!this.#isOpen(stream)) return;
      // Nothing listens any more: the upstream is gone, it is not polling.
      stream.failures = err.code === 'ECONNREFUSED' ? MAX_RESUME_FAILURES + 1 : stream.failures + 1;
      this.#resume(stream, `upstream reply stream did not resume: ${err.message}`);
    });
    req.on('response', (res) => {
      if (!this.#isOpen(stream)) {
        res.destroy();
        return;
      }
      const status = res.statusCode ?? 0;
      if (status === 200 && (res.headers['content-type'] ?? '').startsWith('text/event-stream')) {
        stream.abort = () => res.destroy();
        this.#read(res, stream, true);
        return;
      }
      res.resume();
      const why = `upstream answered HTTP ${status} to resuming a reply stream`;
      if (status === 408 || status === 409 || status === 425 || status === 429 || status >= 500) {
        stream.failures++;
        this.#resume(stream, why);
        return;
      }
      this.#fail(stream, why);
      if (status === 404 && stream.session !== undefined) this.#host.lost(new Error('upstream session expired'));
    });
    req.end();
  }

  #settle(stream: ReplyStream, abort: boolean): void {
    if (!this.#isOpen(stream)) return;
    this.#open.delete(stream.requestId);
    clearTimeout(stream.timer);
    if (abort) stream.abort?.();
    stream.abort = undefined;
  }

  #fail(stream: ReplyStream, why: string): void {
    if (!this.#isOpen(stream)) return;
    this.#settle(stream, false);
    this.#host.fail(stream.requestId, why);
  }
}
