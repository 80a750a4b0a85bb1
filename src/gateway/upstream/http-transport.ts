import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { ErrorCode } from '@modelcontextprotocol/sdk/types.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

const GET_RETRY_MS = 1000;
const DELETE_TIMEOUT_MS = 2000;

/**
 * The client side of MCP Streamable HTTP, for the SDK's Client, on node:http with a keep-alive pool.
 *
 * The SDK's own transport runs every call through fetch and a chain of web streams, which cost the gateway about
 * 1 ms of CPU and a lot of short-lived garbage per call (measured by `npm run bench`); this one parses each reply
 * once. It follows no redirects (an upstream cannot bounce the gateway's credentials elsewhere), and when a reply
 * stream ends before the answer to its request arrived it answers that request with ConnectionClosed at once
 * instead of leaving it to the timeout.
 */
export class HttpClientTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  sessionId?: string;

  readonly #url: URL;
  readonly #headers: Readonly<Record<string, string>>;
  readonly #agent: HttpAgent;
  readonly #request: typeof httpRequest;
  #protocolVersion: string | undefined;
  #closed = false;
  #stream: IncomingMessage | undefined;
  #retry: NodeJS.Timeout | undefined;

  constructor(url: URL, headers: Record<string, string>) {
    this.#url = url;
    this.#headers = headers;
    const https = url.protocol === 'https:';
    this.#agent = https ? new HttpsAgent({ keepAlive: true, maxSockets: 256 }) : new HttpAgent({ keepAlive: true, maxSockets: 256 });
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
    if (body !== undefined) {
      h['content-type'] = 'application/json';
      h['content-length'] = String(Buffer.byteLength(body));
    }
    if (this.sessionId !== undefined) h['mcp-session-id'] = this.sessionId;
    if (this.#protocolVersion !== undefined) h['mcp-protocol-version'] = this.#protocolVersion;
    return h;
  }

  /** Resolves once the upstream accepted the message; replies are delivered through `onmessage` as they arrive. */
  send(message: JSONRPCMessage): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('transport closed'));
    const body = JSON.stringify(message);
    const requestId = 'method' in message && 'id' in message ? message.id : undefined;
    return new Promise((resolve, reject) => {
      const req = this.#request(this.#url, {
        method: 'POST',
        agent: this.#agent,
        headers: this.#requestHeaders('application/json, text/event-stream', body),
      });
      req.on('error', (err) => {
        reject(err);
        this.#lost(err);
      });
      req.on('response', (res) => {
        const status = res.statusCode ?? 0;
        const session = res.headers['mcp-session-id'];
        if (typeof session === 'string' && session !== '') this.sessionId = session;
        if (status === 202) {
          res.resume();
          resolve();
          if ('method' in message && message.method === 'notifications/initialized') this.#openStream();
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
        this.#readReply(res, requestId);
      });
      req.end(body);
    });
  }

  #readReply(res: IncomingMessage, requestId: string | number | undefined): void {
    let answered = false;
    const deliver = (text: string) => {
      const parsed = parseMessages(text);
      if (parsed === undefined) {
        this.onerror?.(new Error('upstream sent a message that is not JSON-RPC'));
        return;
      }
      for (const m of parsed) {
        if (requestId !== undefined && 'id' in m && m.id === requestId && !('method' in m)) answered = true;
        this.onmessage?.(m);
      }
    };
    const finished = () => {
      if (answered || requestId === undefined || this.#closed) return;
      answered = true;
      this.onmessage?.({
        jsonrpc: '2.0',
        id: requestId,
        error: { code: ErrorCode.ConnectionClosed, message: 'upstream reply ended without an answer' },
      });
      this.onerror?.(new Error('upstream reply ended without an answer'));
    };
    if ((res.headers['content-type'] ?? '').startsWith('text/event-stream')) {
      readEvents(res, deliver, finished);
      return;
    }
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => {
      deliver(Buffer.concat(chunks).toString('utf8'));
      finished();
    });
    res.on('error', finished);
    res.on('close', finished);
  }

  /** The server stream (GET) carries what the upstream sends unprompted, such as list_changed. */
  #openStream(): void {
    if (this.#closed || this.#stream !== undefined) return;
    const req = this.#request(this.#url, { method: 'GET', agent: this.#agent, headers: this.#requestHeaders('text/event-stream') });
    req.on('error', () => {
      this.#retryStream();
    });
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      if (status === 405) {
        res.resume();
        return; // the upstream offers no server stream
      }
      if (status !== 200) {
        res.resume();
        if (status === 404) this.#lost(new Error('upstream session expired'));
        else this.#retryStream();
        return;
      }
      this.#stream = res;
      readEvents(
        res,
        (text) => {
          for (const m of parseMessages(text) ?? []) this.onmessage?.(m);
        },
        () => {
          this.#stream = undefined;
          this.#retryStream();
        },
      );
    });
    req.end();
  }

  #retryStream(): void {
    if (this.#closed) return;
    clearTimeout(this.#retry);
    this.#retry = setTimeout(() => {
      this.#openStream();
    }, GET_RETRY_MS);
    this.#retry.unref();
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
    clearTimeout(this.#retry);
    this.#stream?.destroy();
    if (this.sessionId !== undefined) {
      // Best effort: tell the upstream the session is over, then let the pool go.
      const req = this.#request(this.#url, { method: 'DELETE', agent: this.#agent, headers: this.#requestHeaders('application/json'), timeout: DELETE_TIMEOUT_MS });
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

/** A minimal text/event-stream reader: `data:` lines of `message` events, joined, one callback per event. */
function readEvents(res: IncomingMessage, onData: (data: string) => void, onEnd: () => void): void {
  let buffer = '';
  let data: string[] = [];
  let event = 'message';
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    onEnd();
  };
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => {
    buffer += chunk;
    let nl: number;
    while ((nl = buffer.indexOf('\n')) !== -1) {
      const line = buffer.charCodeAt(nl - 1) === 13 ? buffer.slice(0, nl - 1) : buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (line === '') {
        if (data.length > 0 && event === 'message') onData(data.join('\n'));
        data = [];
        event = 'message';
      } else if (line.startsWith('data:')) {
        data.push(line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5));
      } else if (line.startsWith('event:')) {
        event = line.slice(6).trim();
      }
    }
  });
  res.on('end', end);
  res.on('error', end);
  res.on('aborted', end);
  res.on('close', end);
}
