import { GatehouseError } from '../../errors.ts';
import { SYSTEM_CHAIN } from '../audit/audit-log.ts';
import type { Call } from '../call.ts';
import type { Authenticate } from './authenticate.ts';

export interface AuthenticateStageDeps {
  readonly authenticate: Authenticate;
  /** The RFC 9728 metadata URL of an endpoint's resource, named in every 401 and in the 403 for scope. */
  readonly metadataUrl: (server: string | null) => string;
  /** Told of a refused credential (not of a good one lacking scope), before the refusal: the address's failure limit. */
  readonly onFailure?: (call: Call) => Promise<void>;
}

const UNAUTHENTICATED = new GatehouseError('unauthenticated', 'Authentication required');
// 403, not 401: the token is good, so asking for another would loop; it lacks the scope this endpoint needs.
const INSUFFICIENT_SCOPE = new GatehouseError('forbidden', 'Insufficient scope');

/**
 * Stage `authenticate`: who is calling (an API key or an OAuth access token) -> the call's Principal. Every failure
 * looks the same to the client (one status, header and body, no correlation id): whether a key exists, expired, was
 * revoked or was signed wrongly is for the audit record. Only whether a credential was presented at all shows (RFC
 * 6750's invalid_token), and a good token without the endpoint's scope gets 403 naming the scope, so it can step up.
 */
export function createAuthenticateStage(deps: AuthenticateStageDeps) {
  return async function authenticate(call: Call): Promise<void> {
    const result = await deps.authenticate(call.authorization, Date.now(), call.server);
    if (result.ok) {
      call.principal = result.principal;
      if (result.revision !== undefined) call.accessRevision = result.revision;
      call.audit.orgId = result.principal.orgId;
      call.audit.actor = result.principal.actor;
      return;
    }
    call.audit.orgId = result.orgId ?? SYSTEM_CHAIN;
    call.audit.actor = { keyId: result.keyId ?? null, user: null };
    call.audit.reason = result.reason;
    call.audit.name = call.requestLine;
    const metadata = `resource_metadata="${deps.metadataUrl(call.server)}"`;
    if (result.reason === 'insufficient_scope') {
      call.audit.action = 'auth.scope';
      call.challenge = `Bearer error="insufficient_scope", scope="${result.scope ?? ''}", ${metadata}`;
      throw INSUFFICIENT_SCOPE;
    }
    call.audit.action = 'auth.failed';
    if (deps.onFailure !== undefined) await deps.onFailure(call);
    call.challenge = result.reason === 'missing' ? `Bearer ${metadata}` : `Bearer error="invalid_token", ${metadata}`;
    throw UNAUTHENTICATED;
  };
}
