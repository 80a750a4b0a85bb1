import * as z from 'zod';
import type { ApiResponse } from '../control-plane.ts';
import { GatehouseError } from '../errors.ts';
import type { Action } from '../gateway/access/permissions.ts';
import type { Actor, ServiceContext } from '../services/context.ts';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** What a handler receives: the actor, its organisation, and the request parts already validated. */
export interface RouteInput<P, Q, B> {
  readonly actor: Actor;
  readonly orgId: string;
  readonly services: ServiceContext;
  readonly params: P;
  readonly query: Q;
  readonly body: B;
}

type Obj = z.ZodObject;

export interface RouteSpec<P extends Obj, Q extends Obj, B extends z.ZodType> {
  readonly method: Method;
  /** Below /api/v1, with `{name}` for a path parameter, as OpenAPI writes it. */
  readonly path: string;
  /** The permission-table action this route performs. */
  readonly action: Action;
  readonly operationId: string;
  readonly summary: string;
  readonly tag: string;
  readonly params?: P;
  readonly query?: Q;
  /** Request body (JSON); POST, PUT and PATCH routes always have one, strict, so unknown fields are refused. */
  readonly body?: B;
  readonly response: { readonly status: number; readonly description: string; readonly schema?: z.ZodType; readonly contentType?: string };
  /** A response body field holding a secret shown once: never stored for an idempotent replay, which answers without it. */
  readonly shownOnce?: string;
  handle(input: RouteInput<z.output<P>, z.output<Q>, z.output<B>>): Promise<ApiResponse>;
}

/** A route with its types erased, as the router and the OpenAPI generator hold it. */
export interface Route {
  readonly method: Method;
  readonly path: string;
  readonly action: Action;
  readonly operationId: string;
  readonly summary: string;
  readonly tag: string;
  readonly params: Obj | undefined;
  readonly query: Obj | undefined;
  readonly body: z.ZodType | undefined;
  readonly response: RouteSpec<Obj, Obj, z.ZodType>['response'];
  readonly shownOnce: string | undefined;
  readonly segments: readonly string[];
  run(base: { actor: Actor; orgId: string; services: ServiceContext }, raw: { params: unknown; query: unknown; body: unknown }): Promise<ApiResponse>;
}

const EMPTY = z.strictObject({});

export function defineRoute<P extends Obj = typeof EMPTY, Q extends Obj = typeof EMPTY, B extends z.ZodType = typeof EMPTY>(
  spec: RouteSpec<P, Q, B>,
): Route {
  return {
    method: spec.method,
    path: spec.path,
    action: spec.action,
    operationId: spec.operationId,
    summary: spec.summary,
    tag: spec.tag,
    params: spec.params,
    query: spec.query,
    body: spec.body,
    response: spec.response,
    shownOnce: spec.shownOnce,
    segments: spec.path.split('/').slice(1),
    async run(base, raw) {
      const params = parse(spec.params ?? EMPTY, raw.params, 'path') as z.output<P>;
      const query = parse(spec.query ?? EMPTY, raw.query, 'query') as z.output<Q>;
      const body = parse(spec.body ?? EMPTY, raw.body, 'body') as z.output<B>;
      return spec.handle({ ...base, params, query, body });
    },
  };
}

function parse(schema: z.ZodType, value: unknown, where: string): unknown {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  // zod names fields and rules, never the values given, so the message is safe to return (secrets included).
  const message = z.prettifyError(result.error).replace(/✖ ?/g, '').replace(/\s*\n\s*/g, '; ');
  throw new GatehouseError('bad_request', `Invalid ${where}: ${message.slice(0, 500)}`);
}

/** Finds the route for a path; `allowed` lists the methods of a path that matched under another method. */
export function matchRoute(routes: readonly Route[], method: string, path: string): { route?: Route; params: Record<string, string>; allowed: Method[] } {
  const segments = path.split('/').slice(1);
  const allowed: Method[] = [];
  for (const route of routes) {
    const params = matchSegments(route.segments, segments);
    if (params === undefined) continue;
    if (route.method === method) return { route, params, allowed };
    allowed.push(route.method);
  }
  return { params: {}, allowed };
}

function matchSegments(pattern: readonly string[], actual: readonly string[]): Record<string, string> | undefined {
  if (pattern.length !== actual.length) return undefined;
  const params: Record<string, string> = {};
  for (const [i, p] of pattern.entries()) {
    const a = actual[i] ?? '';
    if (p.startsWith('{') && p.endsWith('}')) {
      let decoded: string;
      try {
        decoded = decodeURIComponent(a);
      } catch {
        return undefined;
      }
      if (decoded === '') return undefined;
      params[p.slice(1, -1)] = decoded;
    } else if (p !== a) {
      return undefined;
    }
  }
  return params;
}

/** Literal paths before parameterised ones, so `/audit/verify` is never read as the record `verify`. */
export function orderRoutes(routes: readonly Route[]): Route[] {
  const params = (r: Route) => r.segments.filter((s) => s.startsWith('{')).length;
  return [...routes].sort((a, b) => params(a) - params(b));
}

export function json(status: number, body?: unknown): ApiResponse {
  return body === undefined ? { status } : { status, body };
}
