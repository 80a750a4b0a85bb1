import type { Logger } from 'pino';
import { describeError, GatehouseError, toGatehouseError } from '../errors.ts';
import type { Forwarder, UpstreamConnection } from './upstream/connection.ts';
import type { AuditDecision } from '../store/types.ts';
import { createDecideStage } from './access/decide-stage.ts';
import type { NetworkRules } from './access/network-rules.ts';
import { createNetworkStage, type NetworkStageDeps } from './access/network-stage.ts';
import type { PolicySets } from './access/policy-cache.ts';
import { createGatewayAnswers } from './answers.ts';
import { SYSTEM_CHAIN, type AuditLog } from './audit/audit-log.ts';
import { auditEvent } from './audit/event.ts';
import type { Authenticate } from './authn/authenticate.ts';
import { createAuthenticateStage } from './authn/stage.ts';
import type { Call, MethodSpec } from './call.ts';
import { createResolveStage } from './catalog/resolve.ts';
import { createApprovalStage, type ApprovalStageDeps } from './approval/approval-stage.ts';
import type { PinLookup } from './catalog/tool-pins.ts';
import type { Federation } from './federation.ts';
import { createGuardStages, type GuardStagesDeps } from './guardrails/stages.ts';
import { createEchoScrub, type ScrubStageDeps } from './scrub/echo-scrub.ts';
import { createIdempotencyStage, type IdempotencyStageDeps } from './traffic/idempotency.ts';
import { createForwardStage } from './upstream/forward.ts';
import type { GatewayMetrics } from '../telemetry/metrics.ts';
import { SpanKind, type Span, type Tracing } from '../telemetry/tracing.ts';

/**
 * THE DATA PATH. Every request a client sends - in a session, stateless (2026-07-28) or in a batch - walks this list
 * in order, and so does every request an upstream sends to a client (sampling, elicitation, roots), in its own
 * direction. A stage fills in the call or ends it by throwing; whichever way it ends, the runner writes exactly one
 * audit record from the call, and only then does the transport answer (an answer whose record cannot be written
 * is not sent: the client gets audit_unavailable). The one exception is a flood of rate-limit refusals: past the
 * first per limit and subject in a window they are counted into one aggregated record (traffic/refusal-audit.ts).
 *
 *   stage          direction   what it does                                                         where
 *   authenticate   client      deny list, address and auth-failure limits; then API key or OAuth   traffic/address-stage.ts,
 *                              access token -> Principal (failures charged to the address)         authn/stage.ts
 *   network        client      decide(connect): org deny list and allowlist, key CIDR, endpoint    access/network-stage.ts
 *   receive        client      the transport: media types, body, JSON, session or 2026 envelope    listener/
 *   resolve        client      method table -> one connector and its upstream name; quarantined    catalog/resolve.ts
 *   decide         client      decide(use, target): scopes, read-only; then the org's Cedar set    access/decide-stage.ts
 *   limit          client      rate limits (key tier, organisation, tool); idempotency keys         traffic/limit-stage.ts, idempotency.ts
 *   guard-pre      both        input schema, deny rules, PII and secrets in arguments; then        guardrails/stages.ts,
 *                              human approval (elicitation or the admin API)                       approval/approval-stage.ts
 *   forward        both        the gateway, the session or the upstream answers                    upstream/forward.ts
 *   guard-post     both        output schema, output cap, PII and secrets redaction                guardrails/stages.ts
 *   scrub          client      a connector's own credentials echoed back, replaced                 scrub/echo-scrub.ts
 *   respond        client      the transport answers, after the audit record                       listener/
 */
export const PATH = ['authenticate', 'network', 'receive', 'resolve', 'decide', 'limit', 'guard-pre', 'forward', 'guard-post', 'scrub'] as const;
export type StageName = (typeof PATH)[number];
export type Stage = (call: Call) => void | Promise<void>;

/** Per JSON-RPC method: how it finds its target, who answers it, and whether the guardrails look at it. */
const GATEWAY: MethodSpec = { target: 'none', answer: 'gateway', guarded: false };
export const METHODS: Readonly<Record<string, MethodSpec>> = {
  initialize: GATEWAY,
  ping: GATEWAY,
  'server/discover': GATEWAY,
  'tools/list': GATEWAY,
  'prompts/list': GATEWAY,
  'resources/list': GATEWAY,
  'resources/templates/list': GATEWAY,
  'tools/call': { target: 'tool', answer: 'upstream', guarded: true },
  'prompts/get': { target: 'prompt', answer: 'upstream', guarded: true },
  'resources/read': { target: 'resource', answer: 'upstream', guarded: true },
  'completion/complete': { target: 'completion', answer: 'upstream', guarded: false },
  'resources/subscribe': { target: 'resource', answer: 'session', guarded: false },
  'resources/unsubscribe': { target: 'resource', answer: 'session', guarded: false },
  'logging/setLevel': { target: 'none', answer: 'session', guarded: false },
};

/** Stages that run only on a client's requests; the rest run in both directions. */
const CLIENT_ONLY: ReadonlySet<StageName> = new Set(['authenticate', 'network', 'receive', 'resolve', 'decide']);

export interface PipelineDeps {
  readonly authenticate: Authenticate;
  readonly metadataUrl: (server: string | null) => string;
  readonly networkRules: NetworkRules;
  /** The organisations' Cedar policy sets, consulted by `decide`; absent: none are. */
  readonly policies?: PolicySets;
  readonly federation: Pick<Federation, 'view' | 'connection' | 'guard'>;
  /** Tool pinning and read-only connectors (catalog/tool-pins.ts), held in memory. */
  readonly pins: PinLookup;
  readonly audit: AuditLog;
  readonly log: Logger;
  readonly serverVersion: string;
  readonly traffic: {
    readonly address: Stage;
    readonly limit: Stage;
    readonly authenticationFailed: (call: Call) => Promise<void>;
    readonly orgDeny: NetworkStageDeps['orgDeny'];
  };
  readonly idempotency: IdempotencyStageDeps;
  /** Human approval of the tools an organisation marked as needing it. */
  readonly approval: ApprovalStageDeps;
  /** A connector's record and its secrets, for the echo scrub. */
  readonly scrub: ScrubStageDeps;
  /** Guardrail settings (cached by access revision) and the guardrails' time budget. */
  readonly guardrails: GuardStagesDeps;
  /** Counts every finished call, refusal and audit write (telemetry/metrics.ts). */
  readonly metrics?: Pick<GatewayMetrics, 'call' | 'refused' | 'auditWrite'> | undefined;
  /** OpenTelemetry (telemetry/tracing.ts); absent when tracing is off, and then no span is made. */
  readonly tracing?: Tracing | undefined;
}

export function createPipeline(deps: PipelineDeps) {
  const guard = createGuardStages(deps.guardrails);
  const echoScrub = createEchoScrub(deps.scrub);
  const stages: Record<StageName, readonly Stage[]> = {
    authenticate: [deps.traffic.address, createAuthenticateStage({ ...deps, onFailure: deps.traffic.authenticationFailed })],
    network: [createNetworkStage({ networkRules: deps.networkRules, orgDeny: deps.traffic.orgDeny, view: (orgId, server) => deps.federation.view(orgId, server) })],
    receive: [(call) => call.transport.receive(call)],
    resolve: [createResolveStage({ methods: METHODS, connectorState: (orgId, c) => deps.federation.connection(orgId, c)?.state, connectorRefusal: (orgId, c) => deps.federation.connection(orgId, c)?.credentialRefusal, pins: deps.pins })],
    decide: [createDecideStage({ connectors: deps.pins, ...(deps.policies === undefined ? {} : { policies: deps.policies }) })],
    limit: [deps.traffic.limit, createIdempotencyStage(deps.idempotency)],
    'guard-pre': [echoScrub.outbound, guard.pre, createApprovalStage(deps.approval)],
    forward: [createForwardStage({ connection: (orgId, c) => sessionless(deps.federation.connection(orgId, c)), guard: (orgId, c) => deps.federation.guard(orgId, c), answer: createGatewayAnswers({ serverVersion: deps.serverVersion, connectors: deps.pins }) })],
    'guard-post': [guard.post],
    scrub: [echoScrub.stage],
  };
  const steps = PATH.flatMap((name) => stages[name].map((run) => ({ name, run, clientOnly: CLIENT_ONLY.has(name) })));
  const afterReceive = steps.findIndex((s) => s.name === 'receive') + 1;

  /** Runs the call from step `from`; a batch's members continue from after `receive`, each as a call of its own. */
  async function run(call: Call, from = 0): Promise<void> {
    let at: StageName | undefined;
    const tracing = deps.tracing;
    const span = tracing === undefined ? undefined : startCall(tracing, call);
    try {
      for (let i = from; i < steps.length; i++) {
        const step = steps[i];
        if (step === undefined || (step.clientOnly && call.direction === 'server')) continue;
        at = step.name;
        if (span !== undefined && tracing !== undefined) await runTraced(tracing, span, step, call);
        else {
          // Most stages are synchronous: awaiting only a promise saves a microtask turn per stage per call.
          const pending = step.run(call);
          if (pending !== undefined) await pending;
        }
        if (call.members !== undefined) {
          const members = call.members;
          await Promise.all(members.map((m) => run(m, afterReceive)));
          call.transport.respond(call);
          if (span !== undefined) tracing?.end(span);
          return;
        }
      }
    } catch (err) {
      call.failure = toGatehouseError(err);
      call.failedAt = at;
    }
    if (call.onSettled !== undefined) for (const settle of call.onSettled) await settle();
    await record(call);
    call.transport.respond(call);
    if (span !== undefined) endCall(tracing, span, call);
  }

  /** The call's span: a trace of its own, or a child of its batch's. */
  function startCall(tracing: Tracing, call: Call): Span {
    const span = tracing.start('gatehouse.call', call.traceSpan, { 'gatehouse.correlation_id': call.correlationId, 'gatehouse.direction': call.direction, 'gatehouse.request': call.requestLine }, SpanKind.SERVER);
    call.traceSpan = span;
    return span;
  }

  function endCall(tracing: Tracing | undefined, span: Span, call: Call): void {
    const method = call.request?.method;
    const label = method === undefined ? 'none' : Object.hasOwn(METHODS, method) ? method : 'other';
    span.updateName(`mcp ${label}`);
    span.setAttribute('rpc.method', label);
    if (call.principal !== undefined) span.setAttribute('gatehouse.org', call.principal.orgId);
    if (call.target !== undefined) {
      span.setAttribute('gatehouse.connector', call.target.connector);
      span.setAttribute('gatehouse.target', call.target.original.slice(0, 128));
    }
    const failure = call.failure;
    span.setAttribute('gatehouse.decision', failure === undefined ? 'allow' : describeError(failure.code).kind);
    if (call.failedAt !== undefined) span.setAttribute('gatehouse.failed_at', call.failedAt);
    tracing?.end(span, failure?.code);
  }

  /** One stage in a span of its own; the forward stage's span is the parent the upstream is told of. */
  async function runTraced(tracing: Tracing, parent: Span, step: { name: StageName; run: Stage }, call: Call): Promise<void> {
    const span = tracing.start(`stage ${step.name}`, parent);
    if (step.name === 'forward') {
      if (call.target !== undefined) span.setAttribute('gatehouse.connector', call.target.connector);
      call.traceparent = tracing.traceparent(span);
    }
    try {
      const pending = step.run(call);
      if (pending !== undefined) await pending;
      tracing.end(span);
    } catch (err) {
      tracing.end(span, err instanceof GatehouseError ? err.code : 'internal');
      throw err;
    }
  }

  /** The call's one audit record; when it cannot be written the call fails, whatever its result was. */
  async function record(call: Call): Promise<void> {
    const failure = call.failure;
    const described = failure === undefined ? undefined : describeError(failure.code);
    if (failure !== undefined && described !== undefined && described.logLevel !== 'debug') {
      // What an upstream threw is logged with its connector's credentials replaced (echo-scrub.ts forLog).
      const cause = failure.cause === undefined || call.failedAt !== 'forward' ? (failure.cause ?? failure) : await echoScrub.forLog(call.principal?.orgId, call.target?.connector, failure.cause);
      deps.log[described.logLevel]({ correlationId: call.correlationId, code: failure.code, err: cause }, 'request failed');
    }
    const a = call.audit;
    const decision: AuditDecision = described === undefined ? 'allow' : described.kind;
    const latencyMs = performance.now() - call.started;
    const metrics = deps.metrics;
    if (metrics !== undefined) {
      const method = call.request?.method;
      metrics.call(method === undefined ? 'none' : Object.hasOwn(METHODS, method) ? method : 'other', decision, a.connector, latencyMs / 1000);
      if (failure !== undefined) {
        if (failure.code === 'rate_limited') metrics.refused(String(failure.data?.reason));
        else if (failure.code === 'quota_exceeded') metrics.refused('quota');
        else if (failure.code === 'too_many_sessions') metrics.refused('sessions');
      }
    }
    if (a.suppressed === true) return;
    const dataReason = failure?.data?.reason;
    const reason = a.reason ?? (failure === undefined ? null : typeof dataReason === 'string' ? `${failure.code}:${dataReason}` : failure.code);
    const writing = metrics === undefined ? 0 : performance.now();
    try {
      await deps.audit.record(
        auditEvent({
          orgId: a.orgId ?? SYSTEM_CHAIN,
          actor: a.actor,
          clientIp: call.clientIp,
          action: a.action,
          connector: a.connector,
          target: a.name,
          decision,
          reason: decision === 'allow' ? a.reason : reason,
          latencyMs,
          correlationId: call.correlationId,
          args: a.args,
          detail: a.detail,
        }),
      );
      metrics?.auditWrite((performance.now() - writing) / 1000, true);
    } catch (err) {
      metrics?.auditWrite((performance.now() - writing) / 1000, false);
      call.failure = err instanceof GatehouseError ? err : new GatehouseError('audit_unavailable', 'The audit log is unavailable', { cause: err });
    }
  }

  return { run };
}

export type Pipeline = ReturnType<typeof createPipeline>;

/**
 * A call made without a session (the stateless revision) goes on the connector's shared connection, except to a
 * connector with OAuth per user: that connection reads the listing with the token of whoever connected last, and a
 * call must carry its own person's token, which only a session's own connection does.
 */
function sessionless(conn: UpstreamConnection | undefined): Forwarder | undefined {
  const t = conn?.connector.transport;
  if (conn === undefined || t?.type !== 'http' || t.oauth?.mode !== 'user') return conn;
  const name = conn.connector.name;
  return {
    request: () =>
      Promise.reject(new GatehouseError('upstream_auth_required', `Connector '${name}' uses each person's own account: call it within a session (MCP 2025-11-25 or earlier), whose key acts for you`)),
  };
}
