import { GatehouseError } from '../../errors.ts';
import type { Call } from '../call.ts';
import type { CatalogView } from '../catalog/catalog.ts';
import type { Allowlist } from '../../cidr.ts';
import { decide } from './decide.ts';
import type { NetworkRules } from './network-rules.ts';

export interface NetworkStageDeps {
  readonly networkRules: NetworkRules;
  /** The organisation's deny list for the MCP plane; undefined when it has none. Rejects when the store cannot tell. */
  readonly orgDeny: (orgId: string, revision: number | undefined) => Promise<Allowlist | undefined>;
  /** The catalog an endpoint serves: the organisation's (server null) or a virtual server's; undefined if none. */
  readonly view: (orgId: string, server: string | null) => CatalogView | undefined;
}

// 403, not 401 or 404: the credential is good, so asking for another would loop, and the endpoint exists. Which list
// refused, and what it holds, is for the audit record only.
const NETWORK_REFUSED = new GatehouseError('forbidden', 'Not allowed from this network');
const SERVERS_ONLY = new GatehouseError('forbidden', 'This key may only be used on its virtual servers');
const NO_SUCH_SERVER = new GatehouseError('not_found', 'Not found');

/**
 * Stage `network`: may this principal reach this endpoint from this address? The organisation's MCP deny list and allowlist and
 * the credential's own CIDRs, then the endpoint (a key restricted to virtual servers, a virtual server that does not
 * exist) - one decision, taken before anything of the request is read. Sets the call's view of the catalog.
 */
export function createNetworkStage(deps: NetworkStageDeps) {
  return async function network(call: Call): Promise<void> {
    const p = call.principal;
    if (p === undefined) throw new GatehouseError('internal', 'network stage without a principal');
    const view = deps.view(p.orgId, call.server);
    const orgNetwork = await deps.networkRules.allowlist(p.orgId, 'mcp', call.accessRevision);
    const orgDeny = await deps.orgDeny(p.orgId, call.accessRevision);
    const d = decide(p, 'connect', { kind: 'endpoint', server: call.server, exists: view !== undefined }, { clientIp: call.clientIp, orgNetwork, orgDeny });
    if (d.allow && view !== undefined) {
      call.view = view;
      return;
    }
    if (d.allow || d.rule === 'endpoint') {
      call.audit.action = 'mcp.endpoint';
      call.audit.reason = d.allow ? 'unknown_server' : d.reason;
      throw call.server === null ? SERVERS_ONLY : NO_SUCH_SERVER;
    }
    call.audit.action = 'auth.network';
    call.audit.reason = d.reason;
    call.audit.name = d.rule;
    throw NETWORK_REFUSED;
  };
}
