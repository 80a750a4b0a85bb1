import type { Logger } from 'pino';
import { GatehouseError, toGatehouseError } from '../errors.ts';
import type { AuditDecision } from '../store/types.ts';
import { authorizePrompt, authorizeResource, authorizeTool } from './access/authorize.ts';
import type { AuditLog } from './audit/audit-log.ts';
import { auditArgs } from './audit/redact.ts';
import type { Principal } from './authn/authenticate.ts';
import type { CatalogView } from './catalog/catalog.ts';
import type { Federation } from './federation.ts';
import { negotiateVersion, SERVED_PROTOCOL_VERSIONS, type JsonRpcRequest } from './protocol.ts';
import type { ForwardOptions, Forwarder } from './upstream/connection.ts';

/**
 * THE DATA PATH. One MCP request, after the listener has authenticated the caller (authn) and found its session:
 *
 *   access      the key's scopes decide what this principal may see and call (deny by default)
 *   catalog     the namespaced name or URI is resolved to exactly one connector and its original name
 *   upstream    the request is forwarded on the connector's live client, with its injected credentials
 *   audit       one hash-chained record, whatever the outcome; if it cannot be written the request fails
 *
 * Rate limits, guardrails and policy slot in between these stages as they arrive.
 */
export interface McpExchange {
  readonly principal: Principal;
  readonly request: JsonRpcRequest;
  readonly clientIp: string | null;
  readonly correlationId: string;
  readonly signal: AbortSignal;
  readonly onProgress?: ForwardOptions['onProgress'];
  /** The catalog this endpoint serves: the organisation's whole catalog, or a virtual server's part of it. */
  readonly view: CatalogView;
  /** The session's own state, absent for requests outside a session. */
  readonly session?: SessionOps;
  /** Told which connector the request resolved to, before it is forwarded (messages of that call travel with it). */
  readonly onTarget?: (connector: string) => void;
}

/** What the pipeline may ask of the session a request belongs to. */
export interface SessionOps {
  /** The connection to forward on: the session's own where it needs one, the shared one otherwise. */
  upstream(connector: string): Promise<Forwarder | undefined>;
  setLogLevel(level: string): Promise<void>;
  /** Forwards a resources/(un)subscribe on the session's own connection and remembers it. */
  subscribe(connector: string, uri: string, on: boolean): Promise<void>;
}

const LOG_LEVELS = new Set(['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency']);

export interface PipelineDeps {
  readonly federation: Pick<Federation, 'catalog' | 'connection'>;
  readonly audit: AuditLog;
  readonly log: Logger;
  readonly serverVersion: string;
}

interface Outcome {
  connector: string | null;
  name: string | null;
  args: string | null;
  reason: string | null;
}

export function createPipeline(deps: PipelineDeps) {
  const { federation, audit } = deps;

  async function forward(p: Principal, connector: string, method: string, params: Record<string, unknown>, x: McpExchange) {
    x.onTarget?.(connector);
    const conn = x.session === undefined ? federation.connection(p.orgId, connector) : await x.session.upstream(connector);
    if (conn === undefined) throw new GatehouseError('upstream_unavailable', `Connector '${connector}' is unavailable`);
    return conn.request(method, params, { signal: x.signal, onProgress: x.onProgress });
  }

  function session(x: McpExchange): SessionOps {
    if (x.session === undefined) throw new GatehouseError('method_not_found', 'Method not found');
    return x.session;
  }

  function resolveResource(x: McpExchange, o: Outcome, uri: string): { connector: string; uri: string } {
    o.name = uri.slice(0, 512);
    const target = x.view.resolveUri(uri);
    authorizeResource(x.principal, target);
    o.connector = target.connector;
    o.name = target.uri.slice(0, 512);
    return target;
  }

  async function dispatch(x: McpExchange, o: Outcome): Promise<unknown> {
    const p = x.principal;
    const params = x.request.params ?? {};
    const catalog = x.view;
    switch (x.request.method) {
      case 'initialize':
        return {
          protocolVersion: negotiateVersion(params.protocolVersion),
          capabilities: {
            tools: { listChanged: true },
            resources: { listChanged: true, subscribe: true },
            prompts: { listChanged: true },
            logging: {},
            completions: {},
          },
          serverInfo: { name: 'gatehouse', version: deps.serverVersion },
        };
      case 'ping':
        return {};
      case 'server/discover':
        // 2026-07-28's handshake-free discovery: what initialize advertises, less what needs a session.
        return {
          supportedVersions: [...SERVED_PROTOCOL_VERSIONS],
          capabilities: { tools: { listChanged: true }, resources: { listChanged: true }, prompts: { listChanged: true }, completions: {} },
        };
      case 'tools/list':
        return page('tools', catalog.listTools(p.scopes, params.cursor));
      case 'prompts/list':
        return page('prompts', catalog.listPrompts(p.scopes, params.cursor));
      case 'resources/list':
        return page('resources', catalog.listResources(p.scopes, params.cursor));
      case 'resources/templates/list':
        return page('resourceTemplates', catalog.listResourceTemplates(p.scopes, params.cursor));
      case 'tools/call': {
        const name = requireString(params, 'name');
        o.name = name;
        o.args = auditArgs(params.arguments);
        const target = catalog.tool(name);
        if (target === undefined) failIfConnectorDown(p, name);
        authorizeTool(p, target, name);
        o.connector = target.connector;
        o.name = target.original;
        return forward(p, target.connector, 'tools/call', { ...params, name: target.original }, x);
      }
      case 'prompts/get': {
        const name = requireString(params, 'name');
        o.name = name;
        o.args = auditArgs(params.arguments);
        const target = catalog.prompt(name);
        authorizePrompt(p, target, name);
        o.connector = target.connector;
        o.name = target.original;
        return forward(p, target.connector, 'prompts/get', { ...params, name: target.original }, x);
      }
      case 'resources/read': {
        const target = resolveResource(x, o, requireString(params, 'uri'));
        const result = await forward(p, target.connector, 'resources/read', { ...params, uri: target.uri }, x);
        return exposeContents(x.view, target.connector, result);
      }
      case 'resources/subscribe':
      case 'resources/unsubscribe': {
        const ops = session(x);
        const target = resolveResource(x, o, requireString(params, 'uri'));
        await ops.subscribe(target.connector, target.uri, x.request.method === 'resources/subscribe');
        return {};
      }
      case 'completion/complete':
        return complete(x, o, params);
      case 'logging/setLevel': {
        const level = requireString(params, 'level');
        if (!LOG_LEVELS.has(level)) throw new GatehouseError('invalid_params', 'params.level is not a log level');
        o.name = level;
        await session(x).setLogLevel(level);
        return {};
      }
      default:
        throw new GatehouseError('method_not_found', 'Method not found');
    }
  }

  /** completion/complete names a prompt or a resource template; both resolve like the request they complete. */
  async function complete(x: McpExchange, o: Outcome, params: Record<string, unknown>): Promise<unknown> {
    const ref = params.ref;
    if (typeof ref !== 'object' || ref === null) throw new GatehouseError('invalid_params', 'params.ref must be an object');
    const r = ref as Record<string, unknown>;
    if (r.type === 'ref/prompt') {
      const name = requireString(r, 'name');
      o.name = name;
      const target = x.view.prompt(name);
      authorizePrompt(x.principal, target, name);
      o.connector = target.connector;
      o.name = target.original;
      return forward(x.principal, target.connector, 'completion/complete', { ...params, ref: { ...r, name: target.original } }, x);
    }
    if (r.type === 'ref/resource') {
      const target = resolveResource(x, o, requireString(r, 'uri'));
      return forward(x.principal, target.connector, 'completion/complete', { ...params, ref: { ...r, uri: target.uri } }, x);
    }
    throw new GatehouseError('invalid_params', 'params.ref.type must be ref/prompt or ref/resource');
  }

  function failIfConnectorDown(p: Principal, name: string): void {
    const sep = name.indexOf('__');
    const conn = sep > 0 ? federation.connection(p.orgId, name.slice(0, sep)) : undefined;
    if (conn !== undefined && conn.state !== 'ready' && p.scopes.touchesConnector(conn.name)) {
      throw new GatehouseError('upstream_unavailable', `Connector '${conn.name}' is unavailable`);
    }
  }

  /** Runs one request through the stages and always writes its audit record before answering. */
  return async function handle(x: McpExchange): Promise<unknown> {
    const started = performance.now();
    const o: Outcome = { connector: null, name: null, args: null, reason: null };
    let decision: AuditDecision = 'allow';
    let result: unknown;
    let failure: GatehouseError | undefined;
    try {
      result = await dispatch(x, o);
      if (isToolError(result)) o.reason = 'tool_error';
    } catch (err) {
      failure = toGatehouseError(err);
      decision = isDenial(failure) ? 'deny' : 'error';
      o.reason = typeof failure.data?.reason === 'string' ? `${failure.code}:${failure.data.reason}` : failure.code;
      if (failure.code === 'internal' || failure.code.startsWith('upstream')) {
        deps.log.warn({ correlationId: x.correlationId, err: failure.cause ?? failure }, 'request failed');
      }
    }
    await audit.record({
      ts: new Date().toISOString(),
      orgId: x.principal.orgId,
      actorKeyId: x.principal.actor.keyId,
      actorUser: x.principal.actor.user,
      clientIp: x.clientIp,
      action: `mcp.${x.request.method.slice(0, 64)}`,
      targetConnector: o.connector,
      targetName: o.name,
      decision,
      reason: o.reason,
      latencyMs: Math.round((performance.now() - started) * 1000) / 1000,
      correlationId: x.correlationId,
      args: o.args,
    });
    if (failure !== undefined) throw failure;
    return result;
  };
}

export type Pipeline = ReturnType<typeof createPipeline>;

/** A list result: the items under their key, and the cursor of the next page when there is one. */
function page(key: string, p: { items: unknown[]; nextCursor?: string }): Record<string, unknown> {
  return p.nextCursor === undefined ? { [key]: p.items } : { [key]: p.items, nextCursor: p.nextCursor };
}

function requireString(params: Record<string, unknown>, key: string): string {
  const v = params[key];
  if (typeof v !== 'string' || v.length === 0) throw new GatehouseError('invalid_params', `params.${key} must be a non-empty string`);
  return v;
}

function isDenial(e: GatehouseError): boolean {
  return e.code === 'invalid_params' || e.code === 'method_not_found' || e.code === 'forbidden' || e.code === 'invalid_request';
}

function isToolError(result: unknown): boolean {
  return typeof result === 'object' && result !== null && (result as { isError?: unknown }).isError === true;
}

/** resources/read answers carry the upstream's URIs; give them back in the form the client asked with. */
function exposeContents(view: CatalogView, connector: string, result: Record<string, unknown>): Record<string, unknown> {
  const contents = result.contents;
  if (!Array.isArray(contents)) return result;
  return {
    ...result,
    contents: contents.map((c: unknown) =>
      typeof c === 'object' && c !== null && typeof (c as { uri?: unknown }).uri === 'string'
        ? { ...c, uri: view.exposeUri(connector, (c as { uri: string }).uri) }
        : c,
    ),
  };
}
