import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:https';
import type { Logger } from 'pino';
import { once } from 'node:events';
import type { Config } from '../../config/schema.ts';
import type { ApiRequest, ApiResponse, AuthRequest, AuthResponse } from '../../control-plane.ts';
import { describeError, GatehouseError, toGatehouseError } from '../../errors.ts';
import { newCorrelationId } from '../../ids.ts';
import type { ResourceMetadata } from '../authn/resource-metadata.ts';
import type { ControlPlaneGate } from '../traffic/control-plane-gate.ts';
import { readBody } from './body.ts';
import type { ClientIpResolver } from './client-ip.ts';
import type { HttpExchange } from './mcp-endpoint.ts';
import type { OriginGuard } from './origin.ts';
import { SECURITY_HEADER_LINES, SECURITY_HEADERS, sendHttpError, sendJson, withRouteHeaders } from './respond.ts';
import type { TlsSettings } from './tls.ts';

export interface HttpServerDeps {
  readonly config: Pick<Config, 'publicUrl' | 'maxBodyBytes'>;
  /** When set, the gateway terminates TLS itself (https); otherwise it speaks plain http. */
  readonly tls?: TlsSettings | undefined;
  readonly log: Logger;
  readonly guard: OriginGuard;
  /** The client's address: the peer, or what trusted proxies forwarded. */
  readonly clientIp: ClientIpResolver;
  /** The MCP endpoint: `server` is null at /mcp and the virtual server's name at /servers/{name}/mcp. */
  readonly handleMcp: (x: HttpExchange, server: string | null) => Promise<void>;
  /** The admin API under /api/v1, framework-neutral: it sees an ApiRequest, never node:http. */
  readonly handleApi: (req: ApiRequest) => Promise<ApiResponse>;
  /** People signing in under /auth, framework-neutral likewise. */
  readonly handleAuth: (req: AuthRequest) => Promise<AuthResponse>;
  /** SCIM 2.0 under /scim/v2, the same framework-neutral shape. */
  readonly handleScim: (req: ApiRequest) => Promise<ApiResponse>;
  readonly ready: () => Promise<boolean>;
  /** The deny list and the address limits for /api/v1, /scim/v2 and /auth (the data path has its own stage). */
  readonly controlPlane: ControlPlaneGate;
  /** RFC 9728 protected resource metadata of the MCP endpoints. */
  readonly metadata: Pick<ResourceMetadata, 'endpointOf' | 'document'>;
  /** `GET /metrics` (Prometheus text): `admit` throws to refuse the scraper (telemetry/metrics-endpoint.ts). */
  readonly metrics?: {
    readonly admit: (authorization: string | undefined, clientIp: string | null) => void;
    readonly render: () => Promise<{ contentType: string; body: string }>;
    readonly refused: (limit: string) => void;
  };
  /** The dashboard: static files under /ui/ (and / sending there), each answer with its own headers (its CSP). */
  readonly handleUi?: (method: string, path: string) => Promise<StaticAnswer>;
}

/** A static file, a redirect or a refusal, with headers that override the defaults (a page's stricter CSP). */
export interface StaticAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly location?: string;
  readonly asset?: { readonly body: Buffer; readonly contentType: string };
}

const API_PREFIX = '/api/v1';
const AUTH_PREFIX = '/auth';
const SCIM_PREFIX = '/scim/v2';
const UI_PREFIX = '/ui';
const CORS_ALLOW_HEADERS = 'authorization, content-type, accept, mcp-session-id, mcp-protocol-version, last-event-id, mcp-method, mcp-name, idempotency-key';
/** 2026-07-28 tools may ask for their arguments mirrored in `Mcp-Param-<Name>` headers, so those names vary per tool. */
const MCP_PARAM_HEADER = /^mcp-param-[a-z0-9-]{1,64}$/;

/** The request headers a browser may send: ours, and whatever Mcp-Param-* headers the preflight asks for. */
function corsAllowHeaders(requested: string | undefined): string {
  const params = (requested ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter((h) => MCP_PARAM_HEADER.test(h))
    .slice(0, 32);
  return params.length === 0 ? CORS_ALLOW_HEADERS : `${CORS_ALLOW_HEADERS}, ${params.join(', ')}`;
}

/** TRACE echoes a request (cookies and Authorization included) back to whoever sent it; TRACK is its IIS twin. */
const REFUSED_METHODS = new Set(['TRACE', 'TRACK']);
/** What node:http answers itself (before any route), with the security headers like every other answer. */
const RAW_BAD_REQUEST = `HTTP/1.1 400 Bad Request\r\n${SECURITY_HEADER_LINES}connection: close\r\ncontent-length: 0\r\n\r\n`;
const RAW_METHOD_NOT_ALLOWED = `HTTP/1.1 405 Method Not Allowed\r\n${SECURITY_HEADER_LINES}connection: close\r\ncontent-length: 0\r\n\r\n`;

export type GatewayServer = Server | TlsServer;

/**
 * The only code that knows HTTP. Every response gets the security headers and a correlation id (also in the log
 * line and the audit record); TRACE and TRACK are refused, and Host and Origin are checked before anything else
 * runs, on every endpoint but /healthz (which load balancers probe by address).
 */
export function createHttpServer(deps: HttpServerDeps): GatewayServer {
  const { log, guard } = deps;
  const baseHeaders: Readonly<Record<string, string>> = SECURITY_HEADERS;

  async function readLimitedBody(req: IncomingMessage, res: ServerResponse): Promise<string> {
    try {
      return await readBody(req, deps.config.maxBodyBytes);
    } catch (err) {
      // The rest of an oversized body is not read: answer, then drop the connection.
      res.once('finish', () => req.destroy());
      throw err;
    }
  }

  async function route(req: IncomingMessage, res: ServerResponse, x: HttpExchange): Promise<void> {
    const path = pathOf(req.url);
    if (REFUSED_METHODS.has(req.method ?? '')) throw new GatehouseError('method_not_allowed', 'Method not allowed');
    if (path === '/healthz') {
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new GatehouseError('method_not_allowed', 'Method not allowed');
      sendJson(res, 200, { status: 'ok' }, x.headers);
      return;
    }
    if (!guard.hostAllowed(req.headers.host)) throw new GatehouseError('origin_forbidden', 'Host not allowed');
    const origin = req.headers.origin;
    if (!guard.originAllowed(origin)) throw new GatehouseError('origin_forbidden', 'Origin not allowed');
    const server = path === '/mcp' ? null : virtualServerOf(path);
    if (server !== undefined) {
      if (origin !== undefined) {
        x.headers['access-control-allow-origin'] = origin;
        x.headers['access-control-expose-headers'] = 'mcp-session-id, x-correlation-id, www-authenticate';
      }
      if (req.method === 'OPTIONS') {
        res.writeHead(204, {
          ...x.headers,
          'access-control-allow-methods': 'GET, POST, DELETE',
          'access-control-allow-headers': corsAllowHeaders(req.headers['access-control-request-headers']),
          'access-control-max-age': '600',
        });
        res.end();
        return;
      }
      await deps.handleMcp(x, server);
      return;
    }
    const prefix = [API_PREFIX, SCIM_PREFIX].find((p) => path === p || path.startsWith(p + '/'));
    if (prefix !== undefined) {
      // No CORS for the admin API or SCIM: a browser page on another origin gets nothing from them.
      const handle = prefix === API_PREFIX ? deps.handleApi : deps.handleScim;
      await deps.controlPlane.admit(prefix === API_PREFIX ? 'api' : 'scim', x.clientIp, `${req.method ?? 'GET'} ${path}`.slice(0, 256), x.correlationId);
      const response = await handle({
        method: req.method ?? 'GET',
        path: path.slice(prefix.length) || '/',
        query: new URL(req.url ?? '/', 'http://localhost').searchParams,
        authorization: req.headers.authorization,
        idempotencyKey: header(req.headers['idempotency-key']),
        contentType: req.headers['content-type'],
        clientIp: x.clientIp,
        correlationId: x.correlationId,
        ...browserParts(req),
        readBody: () => readLimitedBody(req, res),
      });
      if (response.status === 401) await deps.controlPlane.failed(x.clientIp);
      await sendApiResponse(res, response, x.headers);
      return;
    }
    if (path.startsWith(AUTH_PREFIX + '/')) {
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      await deps.controlPlane.admit('auth', x.clientIp, `${req.method ?? 'GET'} ${path}`.slice(0, 256), x.correlationId);
      const response = await deps.handleAuth({
        method: req.method ?? 'GET',
        path: path.slice(AUTH_PREFIX.length),
        rawQuery: q === -1 ? '' : url.slice(q + 1),
        contentType: req.headers['content-type'],
        userAgent: req.headers['user-agent'],
        accept: req.headers.accept,
        clientIp: x.clientIp,
        correlationId: x.correlationId,
        baseUrl: deps.config.publicUrl?.replace(/\/+$/, '') ?? `http://${req.headers.host ?? 'localhost'}`,
        ...browserParts(req),
        readBody: () => readLimitedBody(req, res),
      });
      sendAuthResponse(res, response, x.headers);
      return;
    }
    if (deps.handleUi !== undefined && (path === '/' || path === UI_PREFIX || path.startsWith(UI_PREFIX + '/'))) {
      sendStatic(req, res, await deps.handleUi(req.method ?? 'GET', path), x.headers);
      return;
    }
    const described = deps.metadata.endpointOf(path);
    if (described !== undefined) return resourceMetadata(req, res, x, described.server);
    if (req.method !== 'GET') throw new GatehouseError('method_not_allowed', 'Method not allowed');
    if (path === '/metrics' && deps.metrics !== undefined) {
      await deps.controlPlane.admit('api', x.clientIp, `GET ${path}`, x.correlationId);
      try {
        deps.metrics.admit(req.headers.authorization, x.clientIp);
      } catch (err) {
        if (err instanceof GatehouseError && err.code === 'unauthenticated') await deps.controlPlane.failed(x.clientIp);
        throw err;
      }
      const { contentType, body } = await deps.metrics.render();
      res.writeHead(200, { ...x.headers, 'content-type': contentType, 'cache-control': 'no-store' });
      res.end(body);
      return;
    }
    if (path === '/readyz') {
      const ok = await deps.ready().catch(() => false);
      sendJson(res, ok ? 200 : 503, { status: ok ? 'ready' : 'not ready' }, x.headers);
      return;
    }
    throw new GatehouseError('not_found', 'Not found');
  }

  /**
   * Public and the same for every caller: an allowed origin may read it (browser-based MCP clients discover with
   * it); the origin check above has already refused the others. A request without Origin is no browser's CORS.
   */
  async function resourceMetadata(req: IncomingMessage, res: ServerResponse, x: HttpExchange, server: string | null): Promise<void> {
    const headers = { ...x.headers, 'access-control-allow-origin': req.headers.origin ?? '*' };
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { ...headers, 'access-control-allow-methods': 'GET', 'access-control-allow-headers': 'mcp-protocol-version', 'access-control-max-age': '600' });
      res.end();
      return;
    }
    if (req.method !== 'GET') throw new GatehouseError('method_not_allowed', 'Method not allowed');
    const org = new URLSearchParams(queryOf(req.url)).get('org') ?? undefined;
    sendJson(res, 200, await deps.metadata.document(server, org), headers);
  }

  const handler: RequestListener = (req, res) => {
    const started = performance.now();
    const correlationId = newCorrelationId();
    const x: HttpExchange = {
      req,
      res,
      correlationId,
      clientIp: deps.clientIp(req.socket.remoteAddress, req.headers['x-forwarded-for']),
      // One copy of the precomputed security headers per request: routes add CORS and their own to it.
      headers: { ...baseHeaders, 'x-correlation-id': correlationId },
    };
    res.on('finish', () => {
      log.info(
        {
          correlationId,
          method: req.method,
          path: pathOf(req.url),
          status: res.statusCode,
          ms: Math.round((performance.now() - started) * 100) / 100,
          org: x.principal?.orgId,
          key: x.principal?.keyId,
          rpc: x.rpcMethod,
        },
        'request',
      );
    });
    route(req, res, x).catch((err: unknown) => {
      const e = toGatehouseError(err);
      if (e.code === 'rate_limited') deps.metrics?.refused(String(e.data?.reason));
      const { logLevel } = describeError(e.code);
      if (logLevel !== 'debug') log[logLevel]({ correlationId, err: e.cause ?? e }, 'request failed');
      if (res.headersSent) {
        res.destroy();
        return;
      }
      sendHttpError(res, e, x.headers, correlationId);
      if (e.code === 'payload_too_large') req.destroy();
    });
  };
  const options: ServerOptions = { maxHeaderSize: 16 * 1024, headersTimeout: 10_000, requestTimeout: 30_000, keepAliveTimeout: 65_000 };
  const server: GatewayServer =
    deps.tls === undefined ? createServer(options, handler) : createTlsServer({ ...options, ...deps.tls.secureOptions(), minVersion: deps.tls.minVersion }, handler);
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    // A method the parser does not know (TRACK among them) is refused as such; anything else is a bad request.
    if (socket.writable) socket.end(err.code === 'HPE_INVALID_METHOD' ? RAW_METHOD_NOT_ALLOWED : RAW_BAD_REQUEST);
  });
  return server;
}

async function sendApiResponse(res: ServerResponse, r: ApiResponse, headers: Record<string, string>): Promise<void> {
  if ('stream' in r) {
    res.writeHead(r.status, { ...headers, 'content-type': r.contentType });
    for await (const chunk of r.stream) {
      if (res.destroyed) return;
      if (!res.write(chunk)) await once(res, 'drain');
    }
    res.end();
    return;
  }
  if (r.body === undefined) {
    res.writeHead(r.status, withRouteHeaders(headers, r.headers));
    res.end();
    return;
  }
  sendJson(res, r.status, r.body, withRouteHeaders(headers, r.headers));
}

/** The virtual server name in `/servers/{name}/mcp`; undefined for any other path. */
function virtualServerOf(path: string): string | undefined {
  const m = /^\/servers\/([a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?)\/mcp$/.exec(path);
  return m?.[1];
}

function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(', ') : v;
}

/** What cookie-authenticated requests need besides the basics. */
function browserParts(req: IncomingMessage) {
  return {
    cookie: header(req.headers.cookie),
    csrfToken: header(req.headers['x-csrf-token']),
    origin: req.headers.origin,
    secFetchSite: header(req.headers['sec-fetch-site']),
  };
}

function sendAuthResponse(res: ServerResponse, r: AuthResponse, headers: Record<string, string>): void {
  const extra: Record<string, string | string[]> = {};
  if (r.cookies !== undefined && r.cookies.length > 0) extra['set-cookie'] = [...r.cookies];
  if (r.location !== undefined) {
    res.writeHead(r.status, { ...headers, ...extra, location: r.location });
    res.end();
  } else if (r.body === undefined) {
    res.writeHead(r.status, { ...headers, ...extra });
    res.end();
  } else {
    sendJson(res, r.status, r.body, { ...headers, ...extra } as Record<string, string>);
  }
}

function sendStatic(req: IncomingMessage, res: ServerResponse, a: StaticAnswer, headers: Record<string, string>): void {
  const all: Record<string, string> = { ...headers, ...a.headers };
  if (a.location !== undefined) all.location = a.location;
  if (a.asset === undefined) {
    res.writeHead(a.status, { ...all, 'content-length': '0' });
    res.end();
    return;
  }
  res.writeHead(a.status, { ...all, 'content-type': a.asset.contentType, 'content-length': String(a.asset.body.length) });
  res.end(req.method === 'HEAD' ? undefined : a.asset.body);
}

function queryOf(url: string | undefined): string {
  const q = url?.indexOf('?') ?? -1;
  return q === -1 || url === undefined ? '' : url.slice(q + 1);
}

function pathOf(url: string | undefined): string {
  if (url === undefined) return '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}
