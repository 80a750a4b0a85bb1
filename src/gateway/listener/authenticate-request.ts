import { GatehouseError } from '../../errors.ts';
import { compileAllowlist } from '../../cidr.ts';
import { SYSTEM_CHAIN, type AuditLog } from '../audit/audit-log.ts';
import type { Authenticate, Principal } from '../authn/authenticate.ts';
import { httpEvent, pathOf, type HttpExchange } from './exchange.ts';
import { sendHttpError } from './respond.ts';

export interface RequestAuthenticatorDeps {
  readonly authenticate: Authenticate;
  /** Whether the organisation's MCP allowlist (if any) admits the address; rejects when it cannot tell. */
  readonly networkAllowed: (orgId: string, ip: string | null) => Promise<boolean>;
  /** The RFC 9728 metadata URL of an endpoint's resource, named in every 401 and in the 403 for scope. */
  readonly metadataUrl: (server: string | null) => string;
  readonly audit: AuditLog;
}

const UNAUTHENTICATED = new GatehouseError('unauthenticated', 'Authentication required');
// 403, not 401 or 404: the credential is good, so asking for another would loop, and the endpoint exists. Which list
// refused, and what it holds, is for the audit record only.
const NETWORK_REFUSED = new GatehouseError('forbidden', 'Not allowed from this network');
const INSUFFICIENT_SCOPE = new GatehouseError('forbidden', 'Insufficient scope');

/**
 * The first thing every MCP request meets: who is calling (an API key or an OAuth access token), and whether they may
 * call from where they are. Answers and audits every refusal itself and returns the principal otherwise.
 */
export function createRequestAuthenticator(deps: RequestAuthenticatorDeps) {
  const { audit } = deps;

  /** Which network rule refuses the caller's address, if one does: the organisation's MCP allowlist or the key's own. */
  async function networkRefusal(x: HttpExchange, p: Principal): Promise<'org' | 'key' | undefined> {
    if (!(await deps.networkAllowed(p.orgId, x.clientIp))) return 'org';
    if (p.cidrs !== null && !compileAllowlist(p.cidrs).allows(x.clientIp)) return 'key';
    return undefined;
  }

  return async function authenticateOrRefuse(x: HttpExchange, server: string | null): Promise<Principal | undefined> {
    const result = await deps.authenticate(x.req.headers.authorization, Date.now(), server);
    if (result.ok) {
      const p = result.principal;
      x.principal = p;
      // After authentication: only then is the organisation, and so its allowlist, known.
      const refusedBy = await networkRefusal(x, p);
      if (refusedBy === undefined) return p;
      await audit.record(httpEvent(x, p, 'auth.network', 'deny', 'ip_not_allowed', refusedBy));
      sendHttpError(x.res, NETWORK_REFUSED, x.headers, x.correlationId);
      return undefined;
    }
    const who = { orgId: result.orgId ?? SYSTEM_CHAIN, keyId: result.keyId };
    const metadata = `resource_metadata="${deps.metadataUrl(server)}"`;
    const target = `${x.req.method ?? ''} ${pathOf(x)}`;
    if (result.reason === 'insufficient_scope') {
      // A good token without the scope this endpoint needs: 403 naming the scope, so the client can step up.
      await audit.record(httpEvent(x, who, 'auth.scope', 'deny', result.reason, target));
      const challenge = `Bearer error="insufficient_scope", scope="${result.scope ?? ''}", ${metadata}`;
      sendHttpError(x.res, INSUFFICIENT_SCOPE, { ...x.headers, 'www-authenticate': challenge });
      return undefined;
    }
    await audit.record(httpEvent(x, who, 'auth.failed', 'deny', result.reason, target));
    // The same status, header and body for every failure: no hint whether a key or token exists, expired, was revoked
    // or was signed wrongly. Only whether a credential was presented at all shows (RFC 6750's invalid_token).
    const challenge = result.reason === 'missing' ? `Bearer ${metadata}` : `Bearer error="invalid_token", ${metadata}`;
    sendHttpError(x.res, UNAUTHENTICATED, { ...x.headers, 'www-authenticate': challenge });
    return undefined;
  };
}
