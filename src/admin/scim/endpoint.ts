import type { Logger } from 'pino';
import SCIMMY from 'scimmy';
import type { Config } from '../../config/schema.ts';
import type { ApiRequest, ApiResponse } from '../../control-plane.ts';
import { SYSTEM_CHAIN } from '../../gateway/audit/audit-log.ts';
import { auditEvent } from '../../gateway/audit/event.ts';
import { hashApiKey } from '../../gateway/authn/api-key-format.ts';
import { exceedsDepth } from '../../gateway/protocol.ts';
import { isWellFormedScimToken } from '../../identity/scim-token.ts';
import type { Actor } from '../../services/context.ts';
import type { ScimContext } from '../../services/scim-roles.ts';
import type { ScimTokenRecord } from '../../store/scim-types.ts';
import { checkPatch, checkResourceBody, listParams } from './checks.ts';
import { declareScimResources, SCIM_BASE, type ScimCall } from './resources.ts';

export interface ScimEndpointDeps {
  readonly ctx: ScimContext;
  readonly config: Pick<Config, 'maxJsonDepth'>;
  readonly log: Logger;
  /**
   * Whether the organisation's `api` allowlist (if any) admits the address. SCIM is part of the control plane and
   * provisioning comes from the IdP's own servers, so an organisation that restricts its admin API lists the IdP's
   * egress ranges there too; checked after the token names the organisation. Absent: no network rules.
   */
  readonly networkAllowed: (orgId: string, ip: string | null) => Promise<boolean>;
}

const ERROR_URN = 'urn:ietf:params:scim:api:messages:2.0:Error';
const CONTENT_TYPE = 'application/scim+json; charset=utf-8';

type Resource = typeof SCIMMY.Resources.User | typeof SCIMMY.Resources.Group;
const RESOURCES: Readonly<Record<string, { resource: () => Resource; definition: () => SCIMMY.Types.SchemaDefinition }>> = {
  Users: { resource: () => SCIMMY.Resources.User, definition: () => SCIMMY.Schemas.User.definition },
  Groups: { resource: () => SCIMMY.Resources.Group, definition: () => SCIMMY.Schemas.Group.definition },
};
const DISCOVERY: Readonly<Record<string, () => typeof SCIMMY.Resources.Schema | typeof SCIMMY.Resources.ResourceType>> = {
  Schemas: () => SCIMMY.Resources.Schema,
  ResourceTypes: () => SCIMMY.Resources.ResourceType,
};

function decoded(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** A SCIM error response (RFC 7644 §3.12): the detail is ours or SCIMMY's, never a stack, SQL or a secret. */
export function scimError(status: number, scimType: string, detail: string, headers: Record<string, string> = {}): ApiResponse {
  const body = { schemas: [ERROR_URN], status: String(status), ...(scimType === '' ? {} : { scimType }), detail: detail.slice(0, 500) };
  return { status, body, headers: { 'content-type': CONTENT_TYPE, ...headers } };
}

function scim(status: number, body?: unknown, headers: Record<string, string> = {}): ApiResponse {
  return body === undefined ? { status, headers } : { status, body, headers: { 'content-type': CONTENT_TYPE, ...headers } };
}

/**
 * SCIM 2.0 at /scim/v2, framework-neutral like the admin API. The organisation's SCIM token (401 otherwise) scopes
 * every request to its organisation: another organisation's users and groups answer 404 like missing ones. SCIMMY
 * does the protocol (resources, schemas, discovery, PATCH); this routes, checks what SCIMMY lets through, and maps
 * errors. Changes are audited by the services with the token as actor; refused writes and failed logins here.
 */
export function createScimEndpoint(deps: ScimEndpointDeps): (req: ApiRequest) => Promise<ApiResponse> {
  const { ctx } = deps;
  declareScimResources();

  async function authenticate(authorization: string | undefined): Promise<ScimTokenRecord | undefined> {
    const token = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
    if (token === undefined || !isWellFormedScimToken(token)) return undefined;
    const record = await ctx.store.scim.findTokenByHash(hashApiKey(token, ctx.pepper));
    if (record === undefined) return undefined;
    const org = await ctx.store.getOrganisation(record.orgId);
    return org === undefined || org.deletedAt !== null ? undefined : record;
  }

  async function audit(req: ApiRequest, orgId: string, keyId: string | null, action: string, reason: string): Promise<void> {
    await ctx.audit.record(
      auditEvent({
        orgId,
        actor: { keyId, user: null },
        clientIp: req.clientIp,
        action,
        target: `${req.method} ${SCIM_BASE}${req.path}`.slice(0, 256),
        decision: 'deny',
        reason,
        correlationId: req.correlationId,
      }),
    );
  }

  async function readJson(req: ApiRequest): Promise<unknown> {
    const type = (req.contentType ?? '').toLowerCase();
    if (!type.startsWith('application/scim+json') && !type.startsWith('application/json')) {
      throw new SCIMMY.Types.Error(400, 'invalidSyntax', 'Content-Type must be application/scim+json');
    }
    const text = await req.readBody();
    if (exceedsDepth(text, deps.config.maxJsonDepth)) throw new SCIMMY.Types.Error(400, 'invalidSyntax', 'JSON nested too deeply');
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new SCIMMY.Types.Error(400, 'invalidSyntax', 'The body is not valid JSON');
    }
  }

  async function dispatch(req: ApiRequest, call: ScimCall): Promise<ApiResponse> {
    const segments = req.path.split('/').slice(1).map(decoded);
    const [collection = '', id, ...rest] = segments;
    if (rest.length > 0 || id === '' || segments.includes(undefined)) return scimError(404, '', 'Not found');
    const allow = (methods: string) => (methods.split(', ').includes(req.method) ? undefined : scimError(405, '', 'Method not allowed', { allow: methods }));
    if (collection === 'ServiceProviderConfig' && id === undefined) {
      return allow('GET') ?? scim(200, await new SCIMMY.Resources.ServiceProviderConfig().read());
    }
    const discovery = DISCOVERY[collection];
    if (discovery !== undefined && Object.hasOwn(DISCOVERY, collection)) {
      return allow('GET') ?? scim(200, await (id === undefined ? new (discovery())() : new (discovery())(id)).read());
    }
    const kind = Object.hasOwn(RESOURCES, collection) ? RESOURCES[collection] : undefined;
    if (kind === undefined) return scimError(404, '', 'Not found');
    const Resource = kind.resource();
    const definition = kind.definition();
    if (id === undefined) {
      const refused = allow('GET, POST');
      if (refused !== undefined) return refused;
      if (req.method === 'GET') {
        const { filter, params } = listParams(req.query, definition);
        call.filter = filter;
        return scim(200, await new Resource(undefined, params).read(call));
      }
      const body = checkResourceBody(await readJson(req), definition, Resource.schema.definition.id);
      const created = (await new Resource().write(body, call)) as { id?: string; meta?: { location?: string } };
      return scim(201, created, created.meta?.location === undefined ? {} : { location: created.meta.location });
    }
    const refused = allow('GET, PUT, PATCH, DELETE');
    if (refused !== undefined) return refused;
    const one = new Resource(id, listParams(req.query, definition, true).params);
    switch (req.method) {
      case 'GET':
        return scim(200, await one.read(call));
      case 'PUT':
        return scim(200, await one.write(checkResourceBody(await readJson(req), definition, Resource.schema.definition.id), call));
      case 'PATCH': {
        const patched: unknown = await one.patch(checkPatch(await readJson(req), definition), call);
        return patched === undefined ? scim(204) : scim(200, patched);
      }
      default:
        await one.dispose(call);
        return scim(204);
    }
  }

  return async function handle(req: ApiRequest): Promise<ApiResponse> {
    const token = await authenticate(req.authorization);
    if (token === undefined) {
      await audit(req, SYSTEM_CHAIN, null, 'scim.auth.failed', 'unauthenticated');
      return scimError(401, '', 'Authentication required', { 'www-authenticate': 'Bearer realm="gatehouse-scim"' });
    }
    if (!(await deps.networkAllowed(token.orgId, req.clientIp))) {
      await audit(req, token.orgId, token.id, 'scim.auth.network', 'ip_not_allowed');
      return scimError(403, '', 'Not allowed from this network');
    }
    const actor: Actor = {
      via: 'scim', role: 'admin', orgId: token.orgId, userId: null, keyId: token.id, scopes: [], servers: [], cidrs: null, expiresAt: null,
      name: 'scim', clientIp: req.clientIp, correlationId: req.correlationId,
    };
    const call: ScimCall = { ctx, actor, orgId: token.orgId, filter: undefined };
    let response: ApiResponse;
    try {
      response = await dispatch(req, call);
    } catch (err) {
      if (call.failure !== undefined || !(err instanceof SCIMMY.Types.Error)) {
        deps.log.error({ correlationId: req.correlationId, err: call.failure ?? err }, 'SCIM request failed');
        response = scimError(500, '', 'Internal error');
      } else {
        response = scimError(err.status, err.scimType, err.message);
      }
    }
    if (req.method !== 'GET' && response.status >= 400) {
      const reason = 'body' in response ? ((response.body as { scimType?: string }).scimType ?? String(response.status)) : String(response.status);
      await audit(req, token.orgId, token.id, 'scim.request', reason);
    }
    return response;
  };
}
