import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Principal } from '../principal.ts';
import type { ClientFeatures } from './session.ts';

/** Per-request facts the listener gathered before an endpoint runs. */
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

/** The client features the gateway can route back to this client, from its initialize capabilities. */
export function clientFeatures(capabilities: unknown): ClientFeatures {
  if (typeof capabilities !== 'object' || capabilities === null) return {};
  const c = capabilities as Record<string, unknown>;
  const obj = (v: unknown): Record<string, unknown> | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);
  const roots = obj(c.roots);
  return {
    ...(obj(c.sampling) === undefined ? {} : { sampling: obj(c.sampling) }),
    ...(obj(c.elicitation) === undefined ? {} : { elicitation: obj(c.elicitation) }),
    ...(roots === undefined ? {} : { roots: { listChanged: roots.listChanged === true } }),
  };
}

export function headerOf(x: HttpExchange, name: string): string | undefined {
  const v = x.req.headers[name];
  return typeof v === 'string' ? v : undefined;
}

export function pathOf(x: HttpExchange): string {
  const url = x.req.url ?? '/';
  const q = url.indexOf('?');
  return (q === -1 ? url : url.slice(0, q)).slice(0, 200);
}
