import { GatehouseError } from '../../errors.ts';
import { noteDetail, unknownTarget, type Call } from '../call.ts';
import { decide, type ConnectorFacts } from './decide.ts';
import type { PolicySets } from './policy-cache.ts';

export interface DecideStageDeps {
  /** What admins said about connectors and their tools (read-only connectors). */
  readonly connectors?: ConnectorFacts;
  /** The organisations' Cedar policy sets; absent: no policies are consulted (a gateway built without them). */
  readonly policies?: PolicySets;
  readonly now?: () => number;
}

const DENIED = 'Refused by the organisation’s policy';
const UNEVALUATED = 'The organisation’s policy could not be evaluated; the request is refused';

/**
 * Stage `decide`: may the principal use what the request resolved to? One call of `decide` with the resolved target
 * (scopes, read-only connectors; a scope refusal answers exactly like a target that does not exist), then, when the organisation has a Cedar
 * policy set, the set decides too: deny by default, a forbid wins, and a set that cannot be evaluated refuses. The
 * record's detail says which version decided and which policies determined it. Once allowed, the audit record names
 * the target by its connector and upstream name, and the transport may check what only a permitted target may be
 * checked against (2026-07-28's Mcp-Param-* headers).
 */
export function createDecideStage(deps: DecideStageDeps = {}) {
  const now = deps.now ?? Date.now;
  const policies = deps.policies;

  function admit(call: Call): void {
    const t = call.target;
    if (t === undefined) return;
    call.audit.connector = t.connector;
    call.audit.name = t.original;
    call.transport.admitted?.(call);
  }

  async function consult(call: Call, sets: PolicySets): Promise<void> {
    const p = call.principal;
    const t = call.target;
    const method = call.request?.method;
    if (p === undefined || t === undefined || method === undefined) return;
    let set;
    try {
      set = await sets.inForce(p.orgId, call.accessRevision);
    } catch (err) {
      throw new GatehouseError('policy_error', UNEVALUATED, { cause: err });
    }
    if (set !== undefined) {
      // What was asked is named in the record even when it is refused (a refusal by policy is no secret to its caller).
      call.audit.connector = t.connector;
      call.audit.name = t.original;
      if (!set.loaded) {
        noteDetail(call, 'policy', { version: set.version, error: 'not_loaded' });
        throw new GatehouseError('policy_error', UNEVALUATED);
      }
      const answer = set.evaluate({
        principal: p,
        method,
        target: t,
        args: call.request?.params?.arguments,
        clientIp: call.clientIp,
        protocolVersion: call.protocolVersion ?? '',
        now: now(),
      });
      if (answer.decision === 'error') {
        noteDetail(call, 'policy', { version: set.version, errored: answer.errored });
        throw new GatehouseError('policy_error', UNEVALUATED, { cause: new Error(answer.message) });
      }
      noteDetail(call, 'policy', { version: set.version, determining: answer.determining });
      if (answer.decision === 'deny') throw new GatehouseError('policy_denied', DENIED);
    }
    admit(call);
  }

  return function decideStage(call: Call): void | Promise<void> {
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
    if (policies === undefined) {
      admit(call);
      return;
    }
    return consult(call, policies);
  };
}
