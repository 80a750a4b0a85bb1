import type { ServerResponse } from 'node:http';

/** How long a client is told to wait before reconnecting a closed stream (the SSE `retry` field). */
export const RETRY_MS = 1000;
const MAX_EVENTS_PER_STREAM = 256;
const MAX_BYTES_PER_STREAM = 1024 * 1024;
const MAX_STREAMS_PER_SESSION = 32;
/** A finished stream stays resumable this long, so a client that lost the connection just before the end can still fetch it. */
const FINISHED_GRACE_MS = 60_000;

interface BufferedEvent {
  readonly seq: number;
  readonly frame: string;
}

/**
 * One logical SSE stream of a session: the answer stream of one POST, or the session's standalone GET stream. Every
 * event gets an id `<stream>-<seq>` and is kept (bounded) after it is written, so a client whose connection drops can
 * reconnect with `Last-Event-ID` and receive what it missed, on a new HTTP response, while the stream goes on.
 */
export class EventStream {
  readonly no: number;
  #seq = 0;
  #events: BufferedEvent[] = [];
  #bytes = 0;
  #writer: ServerResponse | undefined;
  #keepAlive: NodeJS.Timeout | undefined;
  #finished = false;
  finishedAt = 0;

  constructor(no: number) {
    this.no = no;
  }

  get attached(): boolean {
    return this.#writer !== undefined;
  }

  get finished(): boolean {
    return this.#finished;
  }

  /**
   * Makes `res` the stream's connection: writes the SSE head, replays events after `afterSeq`, and carries every
   * event from now on. A previous connection of the same stream is ended (the client has replaced it).
   */
  attach(res: ServerResponse, headers: Record<string, string>, options: { afterSeq?: number; priming?: boolean; keepAliveMs?: number } = {}): void {
    this.#detach(true);
    res.writeHead(200, { ...headers, 'content-type': 'text/event-stream', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
    if (options.priming === true) {
      // An event with an id and no data: the client learns an id to resume from before anything else is said.
      res.write(`id: ${this.no}-${this.#seq}\nretry: ${RETRY_MS}\ndata: \n\n`);
    } else res.flushHeaders();
    if (options.afterSeq !== undefined) {
      for (const e of this.#events) if (e.seq > options.afterSeq) res.write(e.frame);
    }
    if (this.#finished) {
      res.end();
      return;
    }
    this.#writer = res;
    res.on('close', () => {
      if (this.#writer === res) this.#detach(false);
    });
    if (options.keepAliveMs !== undefined) {
      // A comment line now and then keeps proxies and load balancers from closing an idle stream.
      this.#keepAlive = setInterval(() => {
        this.#writer?.write(': keep-alive\n\n');
      }, options.keepAliveMs);
      this.#keepAlive.unref();
    }
  }

  /** Writes one JSON-RPC message as an event, keeping it for replay. */
  send(message: unknown): void {
    if (this.#finished) return;
    const seq = ++this.#seq;
    const frame = `id: ${this.no}-${seq}\nevent: message\ndata: ${JSON.stringify(message)}\n\n`;
    this.#events.push({ seq, frame });
    this.#bytes += frame.length;
    while (this.#events.length > MAX_EVENTS_PER_STREAM || (this.#bytes > MAX_BYTES_PER_STREAM && this.#events.length > 1)) {
      const dropped = this.#events.shift();
      if (dropped !== undefined) this.#bytes -= dropped.frame.length;
    }
    this.#writer?.write(frame);
  }

  /** Ends the stream: nothing more will be sent; a connected client sees the end. */
  finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.finishedAt = Date.now();
    this.#detach(true);
  }

  /** Drops the replay buffer (the stream will never be resumed). */
  discard(): void {
    this.finish();
    this.#events = [];
    this.#bytes = 0;
  }

  #detach(end: boolean): void {
    clearInterval(this.#keepAlive);
    this.#keepAlive = undefined;
    const w = this.#writer;
    this.#writer = undefined;
    if (end && w !== undefined && !w.writableEnded) w.end();
  }
}

/** Parses a `Last-Event-ID` of ours: `<stream>-<seq>`. */
export function parseEventId(value: string | undefined): { stream: number; seq: number } | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d{1,9})-(\d{1,9})$/.exec(value.trim());
  if (m?.[1] === undefined || m[2] === undefined) return undefined;
  return { stream: Number(m[1]), seq: Number(m[2]) };
}

/** A session's streams, bounded in number; finished ones are forgotten after a grace period. */
export class StreamTable {
  #next = 1;
  readonly #streams = new Map<number, EventStream>();

  open(): EventStream {
    this.prune(Date.now());
    if (this.#streams.size >= MAX_STREAMS_PER_SESSION) {
      // Forget the oldest finished stream first; a session with that many live streams loses the oldest's replay.
      const victim = [...this.#streams.values()].find((s) => s.finished) ?? this.#streams.values().next().value;
      if (victim !== undefined) this.forget(victim);
    }
    const stream = new EventStream(this.#next++);
    this.#streams.set(stream.no, stream);
    return stream;
  }

  get(no: number): EventStream | undefined {
    return this.#streams.get(no);
  }

  forget(stream: EventStream): void {
    stream.discard();
    this.#streams.delete(stream.no);
  }

  prune(now: number): void {
    for (const s of this.#streams.values()) if (s.finished && now - s.finishedAt > FINISHED_GRACE_MS) this.forget(s);
  }

  closeAll(): void {
    for (const s of this.#streams.values()) s.discard();
    this.#streams.clear();
  }
}
