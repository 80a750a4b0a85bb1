import { GatehouseError, toGatehouseError } from '../../errors.ts';
import { noteDetail, type Call } from '../call.ts';
import type { CatalogView } from '../catalog/catalog.ts';
import type { Forwarder } from './connection.ts';
import type { ConnectorGuard } from './resilience.ts';
import { withTraceparent } from '../../telemetry/trace-context.ts';
import { callDeadline } from '../deadline.ts';

export interface ForwardStageDeps {
  /** The organisation's shared connection to a connector. */
  readonly connection: (orgId: string, connector: string) => Forwarder | undefined;
  /** What the gateway answers itself (answers.ts). */
  readonly answer: (call: Call) => unknown;
  /** The connector's circuit breaker, concurrency cap and time bounds (resilience.ts). */
  readonly guard: (orgId: string, connector: string) => ConnectorGuard | undefined;
}

const LOG_LEVELS = new Set(['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency']);

/**
 * Stage `forward`: the request is answered - by the transport itself (a stream, a session made), by the gateway (the
 * method table's `gateway` rows), by the session's own state, or by the target's upstream on the session's own
 * connection or the organisation's shared one (credentials are injected there, never seen by the client). An
 * upstream's request to a client goes the other way, to the client. Answers come back in the client's names.
 */
export function createForwardStage(deps: ForwardStageDeps) {
  return async function forward(call: Call): Promise<void> {
    if (call.direction === 'server') {
      if (call.ask === undefined) throw new GatehouseError('internal', 'server-to-client call without a client');
      call.result = await call.ask();
      return;
    }
    if (call.local !== undefined) {
      call.result = await call.local();
      return;
    }
    const spec = call.spec;
    if (spec === undefined) return;
    if (spec.answer === 'gateway') {
      call.result = deps.answer(call);
      call.transport.answered?.(call);
      return;
    }
    if (spec.answer === 'session') {
      call.result = await sessionAnswer(call);
      return;
    }
    const target = call.target;
    const p = call.principal;
    if (target === undefined || p === undefined) throw new GatehouseError('internal', 'forward without a target');
    call.onTarget?.(target.connector);
    // Before anything is opened: an open circuit or a full connector refuses at once.
    const guard = deps.guard(p.orgId, target.connector);
    const settle = guard?.admit();
    const method = call.request?.method ?? '';
    let result: Record<string, unknown>;
    let conn: Forwarder | undefined;
    let failure: GatehouseError | undefined;
    try {
      conn = call.session === undefined ? deps.connection(p.orgId, target.connector) : await call.session.upstream(target.connector);
      if (conn === undefined) throw new GatehouseError('upstream_unavailable', `Connector '${target.connector}' is unavailable`);
      if (conn.sandbox !== undefined) noteDetail(call, 'sandbox', conn.sandbox);
      // The hard maximum is the gateway's own timer: progress notifications restart the per-answer timeout only.
      const limits = guard?.settings;
      const deadline = limits === undefined ? undefined : callDeadline(call.signal, limits.maxCallMs);
      try {
        const forwarder = conn;
        const send = () =>
          forwarder.request(method, call.upstreamParams ?? {}, {
            signal: deadline?.signal ?? call.signal,
            onProgress: call.onProgress,
            timeoutMs: limits?.timeoutMs,
          });
        // The call's traceparent goes with the request to a connector that opted in (telemetry/trace-context.ts).
        result = await (call.traceparent === undefined ? send() : withTraceparent(call.traceparent, send));
      } catch (err) {
        if (deadline?.expired() === true && !call.signal.aborted && limits !== undefined) {
          throw new GatehouseError('upstream_call_too_long', `Connector '${target.connector}' call ran past its maximum of ${String(limits.maxCallMs)} ms`, { cause: err });
        }
        throw err;
      } finally {
        deadline?.clear();
      }
    } catch (err) {
      failure = toGatehouseError(err);
      throw err;
    } finally {
      settle?.(failure);
      // A non-public upstream address admitted by an operator's allowance is on the record of every call that used it.
      if (conn?.egressAllowance !== undefined) noteDetail(call, 'egress', { allowance: conn.egressAllowance });
    }
    call.result = method === 'resources/read' && call.view !== undefined ? exposeContents(call.view, target.connector, result) : result;
    if (isToolError(call.result)) call.audit.reason = 'tool_error';
  };
}

/** Requests the session answers from its own state: log level, resource subscriptions. */
async function sessionAnswer(call: Call): Promise<unknown> {
  const session = call.session;
  const request = call.request;
  if (session === undefined || request === undefined) throw new GatehouseError('method_not_found', 'Method not found');
  if (request.method === 'logging/setLevel') {
    const level = request.params?.level;
    if (typeof level !== 'string' || level.length === 0) throw new GatehouseError('invalid_params', 'params.level must be a non-empty string');
    if (!LOG_LEVELS.has(level)) throw new GatehouseError('invalid_params', 'params.level is not a log level');
    call.audit.name = level;
    await session.setLogLevel(level);
    return {};
  }
  const target = call.target;
  if (target === undefined) throw new GatehouseError('method_not_found', 'Method not found');
  await session.subscribe(target.connector, target.original, request.method === 'resources/subscribe');
  return {};
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
