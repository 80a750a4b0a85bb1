import { GatehouseError } from '../../errors.ts';
import { noteDetail, unknownTarget, type Call } from '../call.ts';
import { decide, type ConnectorFacts } from './decide.ts';

/**
 * Stage `decide`: may the principal use what the request resolved to? One call of `decide` with the resolved target
 * (scopes, read-only connectors; Cedar policy joins its rules). A refusal answers exactly like a target that does not
 * exist. Once allowed, the audit record names the target by its connector and upstream name, and the transport may
 * check what only a permitted target may be checked against (2026-07-28's Mcp-Param-* headers).
 */
export function createDecideStage(deps: { readonly connectors: ConnectorFacts }) {
  return function decideStage(call: Call): void {
    const p = call.principal;
    const t = call.target;
    if (p === undefined || t === undefined) return;
    const d = decide(p, 'use', t.kind === 'tool' ? { kind: 'tool', connector: t.connector, name: t.original } : { kind: t.kind, connector: t.connector }, {
      clientIp: call.clientIp,
      orgNetwork: undefined,
      connectors: deps.connectors,
    });
    if (!d.allow && d.reason === 'read_only') {
      noteDetail(call, 'readOnly', { connector: t.connector, tool: t.original, classification: 'unclassified' });
      throw new GatehouseError('invalid_params', `Tool ${call.audit.name ?? ''} is not available: its connector is read-only and the tool is not classified as reading`, {
        data: { reason: 'read_only' },
      });
    }
    if (!d.allow) throw unknownTarget(t.kind, call.audit.name ?? '', 'scope');
    call.audit.connector = t.connector;
    call.audit.name = t.original;
    call.transport.admitted?.(call);
  };
}
