import type { Logger } from 'pino';
import { GatehouseError, toGatehouseError } from '../errors.ts';
import type { AuditDecision } from '../store/types.ts';
import { authorizePrompt, authorizeResource, authorizeTool } from './access/authorize.ts';
import type { AuditLog } from './audit/audit-log.ts';
import { auditArgs } from './audit/redact.ts';
import type { Principal } from './authn/authenticate.ts';
import { exposedUri, splitUri } from './catalog/names.ts';
import type { Federation } from './federation.ts';
import { negotiateVersion, type JsonRpcRequest } from './protocol.ts';
import type { ForwardOptions } from './upstream/connection.ts';

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
}

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
    const conn = federation.connection(p.orgId, connector);
    if (conn === undefined) throw new GatehouseError('upstream_unavailable', `Connector '${connector}' is unavailable`);
    return conn.request(method, params, { signal: x.signal, onProgress: x.onProgress });
  }

  async function dispatch(x: McpExchange, o: Outcome): Promise<unknown> {
    const p = x.principal;
    const params = x.request.params ?? {};
    const catalog = federation.catalog(p.orgId);
    switch (x.request.method) {
      case 'initialize':
        return {
          protocolVersion: negotiateVersion(params.protocolVersion),
          capabilities: { tools: { listChanged: true }, resources: { listChanged: true }, prompts: { listChanged: true } },
          serverInfo: { name: 'gatehouse', version: deps.serverVersion },
        };
      case 'ping':
        return {};
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
        const uri = requireString(params, 'uri');
        const target = splitUri(uri);
        o.name = uri.slice(0, 512);
        authorizeResource(p, target);
        o.connector = target.connector;
        o.name = target.uri.slice(0, 512);
        const result = await forward(p, target.connector, 'resources/read', { ...params, uri: target.uri }, x);
        return namespaceContents(target.connector, result);
      }
      default:
        throw new GatehouseError('method_not_found', 'Method not found');
    }
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
      actorKeyId: x.principal.keyId,
      actorUser: null,
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

/** resources/read answers carry the upstream's URIs; give them back in the namespaced form the client asked with. */
function namespaceContents(connector: string, result: Record<string, unknown>): Record<string, unknown> {
  const contents = result.contents;
  if (!Array.isArray(contents)) return result;
  return {
    ...result,
    contents: contents.map((c: unknown) =>
      typeof c === 'object' && c !== null && typeof (c as { uri?: unknown }).uri === 'string'
        ? { ...c, uri: exposedUri(connector, (c as { uri: string }).uri) }
        : c,
    ),
  };
}
