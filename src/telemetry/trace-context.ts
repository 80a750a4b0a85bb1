import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The W3C `traceparent` of the call being forwarded, from the forward stage down to the HTTP transport that sends
 * it (through the MCP SDK's client, which has no per-request headers). Set only while tracing is on and the
 * connector opted in; the transport reads it only for such connectors.
 */
const current = new AsyncLocalStorage<string>();

export function withTraceparent<T>(traceparent: string, fn: () => T): T {
  return current.run(traceparent, fn);
}

export function currentTraceparent(): string | undefined {
  return current.getStore();
}
