import type { Allowlist } from '../cidr.ts';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import type { ApiRequest, ApiResponse } from '../control-plane.ts';
import { describeError, errorBody, GatehouseError, toGatehouseError } from '../errors.ts';
import { auditEvent } from '../gateway/audit/event.ts';
import { decide } from '../gateway/access/decide.ts';
import type { NetworkRules } from '../gateway/access/network-rules.ts';
import { SYSTEM_CHAIN } from '../gateway/audit/audit-log.ts';
import type { Authenticate } from '../gateway/authn/authenticate.ts';
import type { Principal } from '../gateway/principal.ts';
import { exceedsDepth } from '../gateway/protocol.ts';
import { authorize, type Actor, type ServiceContext } from '../services/context.ts';
import type { AuditDecision } from '../store/types.ts';
import { accessRuleRoutes } from './access-rules.ts';
import { trafficRoutes } from './traffic.ts';
import { approvalRoutes } from './approvals.ts';
import { guardrailRoutes } from './guardrails.ts';
import type { AdminIdempotency } from './idempotency.ts';
import { auditRoutes } from './audit.ts';
import { auditSettingsRoutes } from './audit-settings.ts';
import { authenticateCookie, hasSessionCookie, NETWORK_REFUSED, refusalOf, sessionActor, type CookieAuthDeps } from './cookie-auth.ts';
import { connectorRoutes } from './connectors.ts';
import { keyRoutes } from './keys.ts';
import { memberRoutes } from './members.ts';
import { buildOpenApi } from './openapi.ts';
import { organisationRoutes } from './organisations.ts';
import { policyRoutes } from './policy.ts';
import { defineRoute, json, matchRoute, orderRoutes, type Route } from './route.ts';
import { scimSettingsRoutes } from './scim-settings.ts';
import { selfRoutes } from './self.ts';
import { virtualServerRoutes } from './servers.ts';
import { toolPinRoutes } from './tool-pins.ts';
import { vaultRoutes } from './vault.ts';
import { signInSettingsRoutes } from './sign-in-settings.ts';

export interface AdminApiDeps {
  readonly services: ServiceContext;
  readonly authenticate: Authenticate;
  /** Browser sessions: when given, a request without a Bearer key may come with a session cookie and CSRF token. */
  readonly cookieAuth?: CookieAuthDeps;
  /**
   * The organisations' allowlists; a key's request is decided on the `api` one (and the key's own CIDRs) after
   * authentication, by the data path's one decision point. Rejects when it cannot tell: the request is refused.
   */
  readonly networkRules: NetworkRules;
  /** The organisation's deny list for the `api` plane (beats the allowlist); rejects when it cannot tell. */
  readonly orgDeny: (orgId: string) => Promise<Allowlist | undefined>;
  readonly config: Pick<Config, 'maxJsonDepth'>;
  readonly log: Logger;
  readonly version: string;
  /** Idempotency keys of POST routes (the Idempotency-Key header). */
  readonly idempotent: AdminIdempotency;
}

const openApiRoute = (document: () => unknown) =>
  defineRoute({
    method: 'GET',
    path: '/openapi.json',
    action: 'api.describe',
    operationId: 'getOpenApi',
    summary: 'This document',
    tag: 'self',
    response: { status: 200, description: 'The OpenAPI 3.1 document' },
    handle: () => Promise.resolve(json(200, document())),
  });

/** Every route of /api/v1, each with the permission-table action it performs. */
export function adminRoutes(document: () => unknown = () => ({})): Route[] {
  return orderRoutes([
    ...selfRoutes,
    openApiRoute(document),
    ...organisationRoutes,
    ...memberRoutes,
    ...keyRoutes,
    ...connectorRoutes,
    ...virtualServerRoutes,
    ...auditSettingsRoutes,
    ...auditRoutes,
    ...signInSettingsRoutes,
    ...scimSettingsRoutes,
    ...accessRuleRoutes,
    ...trafficRoutes,
    ...approvalRoutes,
    ...guardrailRoutes,
    ...toolPinRoutes,
    ...policyRoutes,
    ...vaultRoutes,
  ]);
}

export function actorOf(p: Principal, req: Pick<ApiRequest, 'clientIp' | 'correlationId'>): Actor {
  return {
    via: 'api_key',
    role: p.role,
    orgId: p.orgId,
    userId: p.userId,
    keyId: p.keyId,
    scopes: p.scopeList,
    servers: p.servers,
    cidrs: p.cidrs,
    expiresAt: p.expiresAt,
    name: p.userId ?? p.keyId,
    clientIp: req.clientIp,
    correlationId: req.correlationId,
  };
}

const UNAUTHENTICATED = new GatehouseError('unauthenticated', 'Authentication required');

/**
 * The admin API, framework-neutral: authenticate (401) -> route (404/405) -> the route's permission-table action
 * (403) -> validate path, query and body (400) -> the service, which scopes everything to the caller's organisation
 * (404 for another's). Every request leaves one audit record: the service writes it for a change it made, this
 * function for everything else (reads, and every refusal).
 */
export function createAdminApi(deps: AdminApiDeps): { handle: (req: ApiRequest) => Promise<ApiResponse>; routes: readonly Route[] } {
  let document: unknown;
  const routes = adminRoutes(() => (document ??= buildOpenApi(routes, deps.version)));
  const { services } = deps;

  async function audit(req: ApiRequest, who: { orgId: string; keyId?: string | null; userId?: string | null }, action: string, decision: AuditDecision, reason: string | null, target: string | null) {
    await services.audit.record(
      auditEvent({
        orgId: who.orgId,
        actor: { keyId: who.keyId ?? null, user: who.userId ?? null },
        clientIp: req.clientIp,
        action,
        target,
        decision,
        reason,
        correlationId: req.correlationId,
      }),
    );
  }

  async function readJson(req: ApiRequest): Promise<unknown> {
    const text = await req.readBody();
    if (text.trim() === '') return {};
    if (!(req.contentType ?? '').toLowerCase().startsWith('application/json')) {
      throw new GatehouseError('unsupported_media_type', 'Content-Type must be application/json');
    }
    if (exceedsDepth(text, deps.config.maxJsonDepth)) throw new GatehouseError('bad_request', 'JSON nested too deeply');
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new GatehouseError('parse_error', 'The body is not valid JSON');
    }
  }

  /** Who is calling: a Bearer key, or else a browser session (with its CSRF token for changes). */
  async function identify(req: ApiRequest): Promise<{ actor: Actor; orgId: string } | ApiResponse> {
    if (req.authorization === undefined && deps.cookieAuth !== undefined && hasSessionCookie(req)) {
      const r = await authenticateCookie(deps.cookieAuth, req);
      if (r.ok) return { actor: sessionActor(r.principal, req), orgId: r.principal.orgId };
      const who = { orgId: r.orgId ?? SYSTEM_CHAIN, userId: r.userId ?? null };
      const { action, reason } = refusalOf(r);
      await audit(req, who, action, 'deny', reason, r.reason === 'ip_not_allowed' ? 'org' : `${req.method} /api/v1${req.path}`.slice(0, 256));
      return errorResponse(r.error);
    }
    const auth = await deps.authenticate(req.authorization, Date.now());
    if (!auth.ok) {
      await audit(req, { orgId: auth.orgId ?? SYSTEM_CHAIN, keyId: auth.keyId }, 'auth.failed', 'deny', auth.reason, `${req.method} /api/v1${req.path}`.slice(0, 256));
      return errorResponse(UNAUTHENTICATED, { 'www-authenticate': 'Bearer realm="gatehouse"' });
    }
    const p = auth.principal;
    // After authentication: only then is the organisation, and so its allowlist, known. The key's own CIDRs apply here
    // as on the MCP endpoints.
    const d = decide(p, 'connect', undefined, {
      clientIp: req.clientIp,
      orgNetwork: await deps.networkRules.allowlist(p.orgId, 'api'),
      orgDeny: await deps.orgDeny(p.orgId),
    });
    if (!d.allow) {
      await audit(req, { orgId: p.orgId, keyId: p.keyId, userId: p.userId }, 'auth.network', 'deny', d.reason, d.rule);
      return errorResponse(NETWORK_REFUSED);
    }
    return { actor: actorOf(p, req), orgId: p.orgId };
  }

  async function handle(req: ApiRequest): Promise<ApiResponse> {
    const identified = await identify(req);
    if ('status' in identified) return identified;
    const { actor, orgId } = identified;
    const who = { orgId, keyId: actor.keyId, userId: actor.userId };
    const { route, params, allowed } = matchRoute(routes, req.method, req.path);
    if (route === undefined) {
      const err = allowed.length > 0 ? new GatehouseError('method_not_allowed', 'Method not allowed') : new GatehouseError('not_found', 'Not found');
      await audit(req, who, 'api.route', 'deny', err.code, `${req.method} ${req.path}`.slice(0, 256));
      return errorResponse(err, allowed.length > 0 ? { allow: allowed.join(', ') } : {});
    }
    const target = params.id ?? params.userId ?? params.orgId ?? params.hash ?? params.name ?? null;
    let response: ApiResponse;
    try {
      authorize(actor, route.action);
      const body = route.body === undefined ? {} : await readJson(req);
      const query = Object.fromEntries(req.query);
      const answer = await deps.idempotent(req.idempotencyKey, actor, orgId, route, { params, query, body }, () =>
        route.run({ actor, orgId, services }, { params, query, body }),
      );
      response = answer.response;
      // A replay changed nothing, so no service wrote a record: this one says what happened.
      if (answer.replayed) await audit(req, who, route.action, 'allow', 'idempotent_replay', target);
    } catch (err) {
      const e = toGatehouseError(err);
      const { logLevel } = describeError(e.code);
      if (logLevel !== 'debug') deps.log[logLevel]({ correlationId: req.correlationId, err: e.cause ?? e }, 'admin request failed');
      await audit(req, who, route.action, describeError(e.code).kind, e.code, target);
      return errorResponse(e);
    }
    // Changes are audited by the service that made them, with what changed; reads are audited here.
    if (route.method === 'GET') await audit(req, who, route.action, 'allow', null, target);
    return response;
  }

  return { handle, routes };
}

/** The one error body of the admin API. No correlation id in it: two refusals for the same reason read the same. */
export function errorResponse(e: GatehouseError, headers: Record<string, string> = {}): ApiResponse {
  return { status: describeError(e.code).httpStatus, body: errorBody(e), headers };
}
