import * as z from 'zod';
import { GatehouseError } from '../errors.ts';
import { scopeProblem } from '../gateway/access/scopes.ts';
import { CONNECTOR_NAME } from '../gateway/catalog/names.ts';
import { newId } from '../ids.ts';
import { DuplicateError, type VirtualServerPatch, type VirtualServerRecord } from '../store/types.ts';
import { authorize, changeEvent, requireSameOrg, type Actor, type ServiceContext } from './context.ts';
import { viewKey } from './keys.ts';

/** What an administrator chooses for a virtual server; every list defaults to empty (nothing selected). */
export interface VirtualServerDefinition {
  readonly description?: string | undefined;
  /** Tool patterns: `*`, `<connector>`, `<connector>/<tool>` (a trailing `*` matches a prefix). */
  readonly tools?: readonly string[] | undefined;
  /** Prompt patterns, in the same syntax, matched on prompt names. */
  readonly prompts?: readonly string[] | undefined;
  /** `<connector>` or `*`: the resources and resource templates of those connectors. */
  readonly resources?: readonly string[] | undefined;
  /** Expose upstream names and URIs without the connector prefix where they do not collide. */
  readonly unprefixed?: boolean | undefined;
}

export interface NewVirtualServer extends VirtualServerDefinition {
  readonly orgId: string;
  readonly name: string;
}

/** Fields given replace the stored ones; fields left out stay. The name cannot change: keys refer to it. */
export type VirtualServerChange = VirtualServerDefinition;

const MAX_PATTERNS = 256;
const MAX_DESCRIPTION = 1024;
const patterns = z.array(z.string().max(300)).max(MAX_PATTERNS);
/** The fields of a definition as given, shared with the admin API's request schemas. */
export const definitionShape = {
  description: z.string().max(MAX_DESCRIPTION).optional().describe('One line; default empty'),
  tools: patterns.optional().describe('Tool patterns: *, <connector> or <connector>/<tool> (a trailing * matches a prefix)'),
  prompts: patterns.optional().describe('Prompt patterns, in the same syntax, matched on prompt names'),
  resources: patterns.optional().describe('<connector> or *: the resources and resource templates of those connectors'),
  unprefixed: z.boolean().optional().describe('Expose upstream names and URIs without the connector prefix where they do not collide'),
};
// Strict: the admin API will hand these services parsed JSON, and a misspelt field must not be silently ignored.
const newSchema = z.strictObject({ orgId: z.string().min(1), name: z.string(), ...definitionShape });
const changeSchema = z.strictObject(definitionShape);

/** The path a virtual server is served at. */
export function virtualServerPath(name: string): string {
  return `/servers/${encodeURIComponent(name)}/mcp`;
}

export async function createVirtualServer(ctx: ServiceContext, actor: Actor, input: NewVirtualServer): Promise<VirtualServerRecord> {
  authorize(actor, 'virtual_server.create');
  const parsed = parse(newSchema, input);
  requireSameOrg(actor, parsed.orgId, notFoundMessage(parsed.name));
  if (!CONNECTOR_NAME.test(parsed.name)) {
    throw new GatehouseError('bad_request', 'Virtual server name must be 1-32 lowercase letters, digits or inner hyphens (no underscores)');
  }
  const definition = validDefinition({ description: '', tools: [], prompts: [], resources: [], unprefixed: false }, parsed);
  const now = new Date().toISOString();
  const record: VirtualServerRecord = { id: newId('vs'), orgId: parsed.orgId, name: parsed.name, ...definition, createdAt: now, updatedAt: now };
  try {
    await ctx.store.createVirtualServer(record);
  } catch (err) {
    if (err instanceof DuplicateError) throw new GatehouseError('conflict', `A virtual server named '${parsed.name}' already exists`);
    throw err;
  }
  await ctx.audit.record(changeEvent(record.orgId, actor, 'virtual_server.create', { name: record.name }, auditedDefinition(record)));
  return record;
}

export async function updateVirtualServer(
  ctx: ServiceContext,
  actor: Actor,
  orgId: string,
  name: string,
  change: VirtualServerChange,
): Promise<VirtualServerRecord> {
  authorize(actor, 'virtual_server.update');
  requireSameOrg(actor, orgId, notFoundMessage(name));
  const parsed = parse(changeSchema, change);
  const changed = (Object.keys(parsed) as (keyof Definition)[]).filter((field) => parsed[field] !== undefined);
  if (changed.length === 0) throw new GatehouseError('bad_request', 'Nothing to change: give at least one field');
  const existing = await ctx.store.getVirtualServer(orgId, name);
  if (existing === undefined) throw notFound(name);
  const definition = validDefinition(existing, parsed);
  const patch: VirtualServerPatch = Object.fromEntries(changed.map((field) => [field, definition[field]]));
  // Deleted between the read and the write: answered as if it had never been there.
  const updated = await ctx.store.updateVirtualServer(orgId, existing.id, patch);
  if (updated === undefined) throw notFound(name);
  await ctx.audit.record(changeEvent(orgId, actor, 'virtual_server.update', { name }, { changed, ...auditedDefinition(updated) }));
  return updated;
}

/** undefined when there is none, and likewise for another organisation's: the two cannot be told apart. */
export async function getVirtualServer(
  ctx: Pick<ServiceContext, 'store'>,
  actor: Actor,
  orgId: string,
  name: string,
): Promise<VirtualServerRecord | undefined> {
  authorize(actor, 'virtual_server.read');
  if (actor.orgId !== null && actor.orgId !== orgId) return undefined;
  return ctx.store.getVirtualServer(orgId, name);
}

export async function listVirtualServers(ctx: Pick<ServiceContext, 'store'>, actor: Actor, orgId: string): Promise<VirtualServerRecord[]> {
  authorize(actor, 'virtual_server.read');
  requireSameOrg(actor, orgId, 'No such virtual server');
  return ctx.store.listVirtualServers(orgId);
}

/**
 * Removes a virtual server. Keys restricted to it stay as they are and reach nothing through it; their ids are
 * returned so the operator can revoke them (a server created later under the same name would serve them again).
 */
export async function removeVirtualServer(ctx: ServiceContext, actor: Actor, orgId: string, name: string): Promise<{ affectedKeys: string[] }> {
  authorize(actor, 'virtual_server.delete');
  requireSameOrg(actor, orgId, notFoundMessage(name));
  const existing = await ctx.store.getVirtualServer(orgId, name);
  if (existing === undefined || !(await ctx.store.deleteVirtualServer(orgId, existing.id))) throw notFound(name);
  const now = Date.now();
  const affectedKeys = (await ctx.store.listApiKeys(orgId))
    .filter((k) => k.servers?.includes(name) === true && viewKey(k, now).status === 'active')
    .map((k) => k.id);
  await ctx.audit.record(changeEvent(orgId, actor, 'virtual_server.delete', { name }, { id: existing.id, affectedKeys }));
  return { affectedKeys };
}

type Definition = Pick<VirtualServerRecord, 'description' | 'tools' | 'prompts' | 'resources' | 'unprefixed'>;

/** The stored definition with the given fields laid over it, checked as a whole. */
function validDefinition(base: Definition, given: VirtualServerDefinition): Definition {
  const description = given.description ?? base.description;
  // One line of text: it is printed in terminals and tables.
  if (/\p{Cc}/u.test(description)) throw new GatehouseError('bad_request', 'Description must be one line without control characters');
  const tools = unique(given.tools ?? base.tools);
  const prompts = unique(given.prompts ?? base.prompts);
  const resources = unique(given.resources ?? base.resources);
  for (const [field, list] of [['tools', tools], ['prompts', prompts]] as const) {
    for (const pattern of list) {
      const problem = scopeProblem(pattern);
      if (problem !== undefined) throw new GatehouseError('bad_request', `Invalid ${field} pattern ${problem}`);
    }
  }
  for (const entry of resources) {
    if (entry !== '*' && !CONNECTOR_NAME.test(entry)) {
      throw new GatehouseError('bad_request', `Invalid resources entry '${entry}': give a connector name or *`);
    }
  }
  if (tools.length + prompts.length + resources.length === 0) {
    throw new GatehouseError('bad_request', 'A virtual server must select something: give at least one tools, prompts or resources pattern');
  }
  return { description, tools, prompts, resources, unprefixed: given.unprefixed ?? base.unprefixed };
}

function auditedDefinition(v: VirtualServerRecord) {
  return { id: v.id, description: v.description, tools: v.tools, prompts: v.prompts, resources: v.resources, unprefixed: v.unprefixed };
}

function parse<T>(schema: z.ZodType<T>, input: unknown): T {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (issue?.code === 'unrecognized_keys') {
    throw new GatehouseError('bad_request', `Unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k.slice(0, 64)}'`).join(', ')}`);
  }
  const where = issue === undefined || issue.path.length === 0 ? '' : `${issue.path.map(String).join('.')}: `;
  throw new GatehouseError('bad_request', `Invalid virtual server ${where}${issue?.message ?? 'input'}`);
}

function unique(list: readonly string[]): string[] {
  return [...new Set(list)];
}

function notFoundMessage(name: string): string {
  return `No virtual server '${name.slice(0, 64)}'`;
}

function notFound(name: string): GatehouseError {
  return new GatehouseError('not_found', notFoundMessage(name));
}
