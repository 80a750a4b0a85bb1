import { GatehouseError } from '../errors.ts';
import { decide, type ConnectorFacts } from './access/decide.ts';
import type { Call } from './call.ts';
import type { Visibility } from './catalog/catalog.ts';
import type { Principal } from './principal.ts';
import { negotiateVersion, SERVED_PROTOCOL_VERSIONS } from './protocol.ts';

/** The capabilities the gateway offers every client, whatever its upstreams offer (it bridges each feature). */
const CAPABILITIES = {
  tools: { listChanged: true },
  resources: { listChanged: true, subscribe: true },
  prompts: { listChanged: true },
  logging: {},
  completions: {},
} as const;

/**
 * What the gateway answers itself (the method table's `answer: 'gateway'`): the handshake, ping, 2026-07-28's
 * discovery, and the lists, which are the endpoint's view filtered item by item through the one decision point.
 */
export function createGatewayAnswers(deps: { readonly serverVersion: string; readonly connectors: ConnectorFacts }) {
  const serverInfo = { name: 'gatehouse', version: deps.serverVersion };
  return function answer(call: Call): unknown {
    const params = call.request?.params ?? {};
    const view = call.view;
    const p = call.principal;
    switch (call.request?.method) {
      case 'initialize':
        return { protocolVersion: negotiateVersion(params.protocolVersion), capabilities: CAPABILITIES, serverInfo };
      case 'ping':
        return {};
      case 'server/discover':
        // 2026-07-28's handshake-free discovery: what initialize advertises, less what needs a session.
        return {
          supportedVersions: [...SERVED_PROTOCOL_VERSIONS],
          capabilities: { tools: { listChanged: true }, resources: { listChanged: true }, prompts: { listChanged: true }, completions: {} },
        };
    }
    if (view === undefined || p === undefined) throw new GatehouseError('method_not_found', 'Method not found');
    const seen = visibility(p, call.clientIp, deps.connectors);
    switch (call.request?.method) {
      case 'tools/list':
        return page('tools', view.listTools(seen, params.cursor));
      case 'prompts/list':
        return page('prompts', view.listPrompts(seen, params.cursor));
      case 'resources/list':
        return page('resources', view.listResources(seen, params.cursor));
      case 'resources/templates/list':
        return page('resourceTemplates', view.listResourceTemplates(seen, params.cursor));
      default:
        throw new GatehouseError('method_not_found', 'Method not found');
    }
  };
}

/** What a list shows the principal: each item asked of `decide`, as using it would be. */
function visibility(p: Principal, clientIp: string | null, connectors: ConnectorFacts): Visibility {
  const ctx = { clientIp, orgNetwork: undefined, connectors };
  return {
    allowsTool: (connector, name) => decide(p, 'list', { kind: 'tool', connector, name }, ctx).allow,
    allowsConnector: (connector) => decide(p, 'list', { kind: 'prompt', connector }, ctx).allow,
  };
}

/** A list result: the items under their key, and the cursor of the next page when there is one. */
function page(key: string, p: { items: unknown[]; nextCursor?: string }): Record<string, unknown> {
  return p.nextCursor === undefined ? { [key]: p.items } : { [key]: p.items, nextCursor: p.nextCursor };
}
