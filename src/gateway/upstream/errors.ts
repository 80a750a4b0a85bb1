import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { GatehouseError } from '../../errors.ts';

/**
 * Translates whatever an upstream call threw into our error, keeping the original as `cause` for the log. The
 * upstream's own message never reaches the client: it can carry hostnames, paths or secrets.
 */
export function translateUpstreamError(err: unknown, connector: string, signal?: AbortSignal): GatehouseError {
  if (err instanceof GatehouseError) return err;
  if (signal?.aborted === true) return new GatehouseError('request_cancelled', 'Request cancelled', { cause: err });
  if (err instanceof McpError) {
    switch (err.code) {
      case ErrorCode.ConnectionClosed as number:
        return unavailable(connector, err);
      case ErrorCode.RequestTimeout as number:
        return new GatehouseError('upstream_timeout', `Connector '${connector}' did not answer in time${waited(err.data)}`, { cause: err });
      case ErrorCode.InvalidParams as number:
        return new GatehouseError('invalid_params', `Connector '${connector}' rejected the parameters`, { cause: err });
      case ErrorCode.MethodNotFound as number:
        return new GatehouseError('method_not_found', `Connector '${connector}' does not support this method`, { cause: err });
      case -32002:
        return new GatehouseError('invalid_params', 'Resource not found', { cause: err });
      default:
        return new GatehouseError('upstream_error', `Connector '${connector}' returned an error`, { cause: err });
    }
  }
  return unavailable(connector, err);
}

export function unavailable(connector: string, cause?: unknown): GatehouseError {
  return new GatehouseError('upstream_unavailable', `Connector '${connector}' is unavailable`, { cause });
}

/** The wait that ran out, as the SDK reports it: a number the operator set, nothing of the upstream's. */
function waited(data: unknown): string {
  const timeout = (data as { timeout?: unknown } | undefined)?.timeout;
  return typeof timeout === 'number' ? ` (${String(timeout)} ms)` : '';
}

/** Refusals of calls that never reached the upstream (its connection is down): the breaker learns nothing from them. */
const NOT_SENT = new WeakSet<GatehouseError>();

/** Marks `err` as the refusal of a call that was never sent upstream. */
export function notSent(err: GatehouseError): GatehouseError {
  NOT_SENT.add(err);
  return err;
}

export function wasNotSent(err: GatehouseError): boolean {
  return NOT_SENT.has(err);
}
