import { GatehouseError } from '../../errors.ts';
import type { Principal } from '../authn/authenticate.ts';

/**
 * Access decisions for one resolved target. Deny by default: a target the key is not granted is answered exactly
 * like one that does not exist, so a scoped key cannot probe the rest of the catalog.
 */
export function authorizeTool<T extends { connector: string; original: string }>(
  p: Principal,
  target: T | undefined,
  requested: string,
): asserts target is T {
  if (target === undefined || !p.scopes.allowsTool(target.connector, target.original)) {
    throw new GatehouseError('invalid_params', `Unknown tool: ${clip(requested)}`, { data: { reason: target ? 'scope' : 'unknown' } });
  }
}

export function authorizePrompt<T extends { connector: string }>(p: Principal, target: T | undefined, requested: string): asserts target is T {
  if (target === undefined || !p.scopes.allowsConnector(target.connector)) {
    throw new GatehouseError('invalid_params', `Unknown prompt: ${clip(requested)}`, { data: { reason: target ? 'scope' : 'unknown' } });
  }
}

export function authorizeResource<T extends { connector: string }>(p: Principal, target: T | undefined): asserts target is T {
  if (target === undefined || !p.scopes.allowsConnector(target.connector)) {
    throw new GatehouseError('invalid_params', 'Resource not found', { data: { reason: target ? 'scope' : 'unknown' } });
  }
}

function clip(s: string): string {
  return s.length > 128 ? s.slice(0, 128) + '…' : s;
}
