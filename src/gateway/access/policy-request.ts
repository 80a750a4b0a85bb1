import type { CedarValueJson, EntityJson } from '@cedar-policy/cedar-wasm/nodejs';
import type { Target } from '../call.ts';
import type { Principal } from '../principal.ts';
import type { PolicyRequest } from './policy-engine.ts';

const KEY = 'Gatehouse::Key';
const ARGUMENTS = 'Gatehouse::Arguments';
const CONNECTOR = 'Gatehouse::Connector';
const TYPE_OF: Readonly<Record<Target['kind'], string>> = { tool: 'Gatehouse::Tool', prompt: 'Gatehouse::Prompt', resource: 'Gatehouse::Resource' };

export interface RequestFacts {
  readonly principal: Principal;
  readonly method: string;
  readonly target: Target;
  /** The request's `arguments` as the client sent them (tools and prompts), if any. */
  readonly args: unknown;
  readonly clientIp: string | null;
  readonly protocolVersion: string;
  readonly now: number;
}

/**
 * The Cedar request for one call, in the schema's terms (policy-schema.ts). Entities that carry nothing but their
 * place in the hierarchy (roles, users, connectors) are named as parents only: Cedar needs no record for them.
 */
export function policyRequest(f: RequestFacts): PolicyRequest {
  const p = f.principal;
  const t = f.target;
  const parents: { type: string; id: string }[] = [{ type: 'Gatehouse::Role', id: p.role }];
  if (p.userId !== null) parents.push({ type: 'Gatehouse::User', id: p.userId });
  const resource = { type: TYPE_OF[t.kind], id: `${t.connector}/${t.original}` };
  const tags: Record<string, CedarValueJson> = {};
  if (typeof f.args === 'object' && f.args !== null && !Array.isArray(f.args)) {
    for (const [name, value] of Object.entries(f.args as Record<string, unknown>)) tags[name] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  const args = { type: ARGUMENTS, id: '' };
  const entities: EntityJson[] = [
    { uid: { type: KEY, id: p.keyId }, attrs: { name: p.keyName, role: p.role }, parents },
    {
      uid: resource,
      attrs: t.kind === 'resource' ? { uri: t.original, connector: t.connector } : { name: t.original, connector: t.connector },
      parents: [{ type: CONNECTOR, id: t.connector }],
    },
    { uid: args, attrs: {}, parents: [], tags },
  ];
  const at = new Date(f.now);
  const context: Record<string, CedarValueJson> = {
    arguments: { __entity: args },
    argumentNames: Object.keys(tags),
    now: Math.floor(f.now / 1000),
    hourUtc: at.getUTCHours(),
    weekdayUtc: at.getUTCDay(),
    protocolVersion: f.protocolVersion,
  };
  if (f.clientIp !== null) context.clientIp = { __extn: { fn: 'ip', arg: f.clientIp } };
  return { principal: { type: KEY, id: p.keyId }, action: { type: 'Gatehouse::Action', id: f.method }, resource, context, entities };
}

/**
 * The decision cache's key for the request `policyRequest` would build from the same facts: every fact it reads, in
 * a fixed order, and the time only as the request has it (hour and weekday; the second only when a policy reads
 * `now`). Built from the facts, so a hit builds no request at all.
 */
export function decisionKey(f: RequestFacts, withNow: boolean): string {
  const p = f.principal;
  const t = f.target;
  const at = new Date(f.now);
  const args = typeof f.args === 'object' && f.args !== null && !Array.isArray(f.args) ? f.args : null;
  return JSON.stringify([
    p.keyId,
    p.keyName,
    p.role,
    p.userId,
    f.method,
    t.kind,
    t.connector,
    t.original,
    f.clientIp,
    f.protocolVersion,
    at.getUTCHours(),
    at.getUTCDay(),
    withNow ? Math.floor(f.now / 1000) : null,
    args,
  ]);
}
