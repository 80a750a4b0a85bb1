import type { ServerResponse } from 'node:http';

/** One Server-Sent Events stream carrying JSON-RPC messages (`event: message`). */
export class SseStream {
  readonly #res: ServerResponse;
  #closed = false;
  #keepAlive: NodeJS.Timeout | undefined;

  constructor(res: ServerResponse, headers: Record<string, string>, keepAliveMs?: number) {
    this.#res = res;
    res.writeHead(200, { ...headers, 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.flushHeaders();
    res.on('close', () => {
      this.#closed = true;
      clearInterval(this.#keepAlive);
    });
    if (keepAliveMs !== undefined) {
      // A comment line now and then keeps proxies and load balancers from closing an idle stream.
      this.#keepAlive = setInterval(() => {
        if (!this.#closed) this.#res.write(': keep-alive\n\n');
      }, keepAliveMs);
      this.#keepAlive.unref();
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  send(message: unknown): void {
    if (this.#closed) return;
    this.#res.write(`event: message\ndata: ${JSON.stringify(message)}\n\n`);
  }

  end(): void {
    clearInterval(this.#keepAlive);
    if (this.#closed) return;
    this.#closed = true;
    this.#res.end();
  }
}
