import { GatehouseError } from '../../errors.ts';
import { decide } from '../access/decide.ts';
import { auditArgs } from '../audit/redact.ts';
import { noteDetail, unknownTarget, type Call, type MethodSpec } from '../call.ts';
import type { PinLookup } from './tool-pins.ts';

export interface ResolveStageDeps {
  /** The method table (pipeline.ts). */
  readonly methods: Readonly<Record<string, MethodSpec>>;
  /** A connector's live state, to say "unavailable" rather than "unknown" for a tool of a connector that is down. */
  readonly connectorState: (orgId: string, connector: string) => string | undefined;
  /** Why a connector that is down could not connect, when that is a credential that does not open (it is said). */
  readonly connectorRefusal?: (orgId: string, connector: string) => GatehouseError | undefined;
  /** Why a tool is not in the view: its definition is quarantined (new, changed or rejected). */
  readonly pins: Pick<PinLookup, 'quarantined'>;
}

/**
 * Stage `resolve`: the method table says how the request finds its target; the namespaced name or URI the client
 * used is resolved in the endpoint's view to exactly one connector and the upstream's own name; a tool withheld by
 * pinning (quarantined) is refused here, with a clear error. Nothing here decides
 * access (the next stage does), but the audit record learns what was asked for, arguments redacted.
 */
export function createResolveStage(deps: ResolveStageDeps) {
  return function resolve(call: Call): void {
    const request = call.request;
    if (request === undefined) return;
    const spec = deps.methods[request.method];
    if (spec === undefined) throw new GatehouseError('method_not_found', 'Method not found');
    call.spec = spec;
    const view = call.view;
    if (spec.target === 'none' || view === undefined) return;
    const params = request.params ?? {};
    switch (spec.target) {
      case 'tool': {
        const name = requireString(params, 'name');
        call.audit.name = name;
        call.audit.args = auditArgs(params.arguments);
        const entry = view.tool(name);
        if (entry === undefined) {
          failIfQuarantined(call, name);
          failIfConnectorDown(call, name);
          throw unknownTarget('tool', name, 'unknown');
        }
        call.target = { kind: 'tool', connector: entry.connector, original: entry.original, entry };
        call.upstreamParams = { ...params, name: entry.original };
        return;
      }
      case 'prompt': {
        const name = requireString(params, 'name');
        call.audit.name = name;
        call.audit.args = auditArgs(params.arguments);
        const entry = view.prompt(name);
        if (entry === undefined) throw unknownTarget('prompt', name, 'unknown');
        call.target = { kind: 'prompt', connector: entry.connector, original: entry.original };
        call.upstreamParams = { ...params, name: entry.original };
        return;
      }
      case 'resource': {
        const target = resolveUri(call, requireString(params, 'uri'));
        call.upstreamParams = { ...params, uri: target.original };
        return;
      }
      case 'completion':
        resolveCompletion(call, params);
        return;
    }
  };

  function resolveUri(call: Call, uri: string): { connector: string; original: string } {
    call.audit.name = uri;
    const found = call.view?.resolveUri(uri);
    if (found === undefined) throw unknownTarget('resource', uri, 'unknown');
    call.target = { kind: 'resource', connector: found.connector, original: found.uri };
    return call.target;
  }

  /** completion/complete names a prompt or a resource template; both resolve like the request they complete. */
  function resolveCompletion(call: Call, params: Record<string, unknown>): void {
    const ref = params.ref;
    if (typeof ref !== 'object' || ref === null) throw new GatehouseError('invalid_params', 'params.ref must be an object');
    const r = ref as Record<string, unknown>;
    if (r.type === 'ref/prompt') {
      const name = requireString(r, 'name');
      call.audit.name = name;
      const entry = call.view?.prompt(name);
      if (entry === undefined) throw unknownTarget('prompt', name, 'unknown');
      call.target = { kind: 'prompt', connector: entry.connector, original: entry.original };
      call.upstreamParams = { ...params, ref: { ...r, name: entry.original } };
      return;
    }
    if (r.type === 'ref/resource') {
      const target = resolveUri(call, requireString(r, 'uri'));
      call.upstreamParams = { ...params, ref: { ...r, uri: target.original } };
      return;
    }
    throw new GatehouseError('invalid_params', 'params.ref.type must be ref/prompt or ref/resource');
  }

  /**
   * A tool withheld by pinning (its definition is new, changed or rejected) is refused with a clear error, to a
   * principal that may use it; to any other it is unknown, as it would be if it existed.
   */
  function failIfQuarantined(call: Call, name: string): void {
    const p = call.principal;
    if (p === undefined) return;
    const q = deps.pins.quarantined(p.orgId, name);
    if (q === undefined || !decide(p, 'use', { kind: 'tool', connector: q.connector, name: q.tool }, { clientIp: call.clientIp, orgNetwork: undefined }).allow) return;
    noteDetail(call, 'pin', { connector: q.connector, tool: q.tool, status: q.status });
    call.audit.connector = q.connector;
    throw new GatehouseError(
      'tool_quarantined',
      q.status === 'rejected'
        ? `Tool ${name} is blocked: an administrator rejected its current definition`
        : `Tool ${name} is quarantined: its definition is new or changed and awaits an administrator's review`,
      { data: { reason: q.status } },
    );
  }

  /** An unknown `<connector>__name` of a connector that is down (and that the principal may use) is "unavailable". */
  function failIfConnectorDown(call: Call, name: string): void {
    const p = call.principal;
    const sep = name.indexOf('__');
    if (p === undefined || sep <= 0) return;
    const connector = name.slice(0, sep);
    const state = deps.connectorState(p.orgId, connector);
    if (state === undefined || state === 'ready') return;
    if (decide(p, 'list', { kind: 'connector', connector }, { clientIp: call.clientIp, orgNetwork: undefined }).allow) {
      throw deps.connectorRefusal?.(p.orgId, connector) ?? new GatehouseError('upstream_unavailable', `Connector '${connector}' is unavailable`);
    }
  }
}

export function requireString(params: Record<string, unknown>, key: string): string {
  const v = params[key];
  if (typeof v !== 'string' || v.length === 0) throw new GatehouseError('invalid_params', `params.${key} must be a non-empty string`);
  return v;
}
