import type { IncomingMessage } from 'node:http';

export interface EventStreamHandlers {
  /** The data of a dispatched `message` event that carries any; called after `onId` for the same event. */
  readonly onMessage: (data: string) => void;
  /** A dispatched event set the stream's last event id (`''` when the server cleared it). */
  readonly onId: (id: string) => void;
  /** The server's reconnection delay, in milliseconds. */
  readonly onRetry: (ms: number) => void;
  /** The stream ended, cleanly or not. Called once. */
  readonly onEnd: () => void;
}

/**
 * A text/event-stream reader after the WHATWG event stream interpretation, reduced to what MCP uses: `data`,
 * `event`, `id` and `retry` fields, comments ignored. An `id` only counts once its event is dispatched (a blank line),
 * so a stream cut mid-event does not move the resume point past a message that never arrived.
 */
export function readEventStream(res: IncomingMessage, handlers: EventStreamHandlers): void {
  let buffer = '';
  let first = true;
  let data: string[] = [];
  let event = '';
  let id: string | undefined;
  let ended = false;

  const dispatch = () => {
    if (id !== undefined) handlers.onId(id);
    const text = data.join('\n');
    if (text !== '' && (event === '' || event === 'message')) handlers.onMessage(text);
    data = [];
    event = '';
    id = undefined;
  };

  const field = (line: string) => {
    const colon = line.indexOf(':');
    if (colon === 0) return; // a comment, such as a keep-alive
    const name = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.charCodeAt(colon + 1) === 32 ? line.slice(colon + 2) : line.slice(colon + 1);
    switch (name) {
      case 'data':
        data.push(value);
        break;
      case 'event':
        event = value;
        break;
      case 'id':
        if (!value.includes('\0')) id = value;
        break;
      case 'retry':
        if (/^\d{1,9}$/.test(value)) handlers.onRetry(Number(value));
        break;
    }
  };

  const end = () => {
    if (ended) return;
    ended = true;
    handlers.onEnd();
  };

  res.setEncoding('utf8');
  res.on('data', (chunk: string) => {
    if (first) {
      first = false;
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
    }
    buffer += chunk;
    let start = 0;
    let nl: number;
    while ((nl = buffer.indexOf('\n', start)) !== -1) {
      const line = buffer.slice(start, nl > start && buffer.charCodeAt(nl - 1) === 13 ? nl - 1 : nl);
      start = nl + 1;
      if (line === '') dispatch();
      else field(line);
    }
    buffer = buffer.slice(start);
  });
  res.on('end', end);
  res.on('error', end);
  res.on('aborted', end);
  res.on('close', end);
}
