import type * as JoseModule from 'jose';
import type { JWTPayload, JWTVerifyGetKey } from 'jose';
import type { OAuthIssuerRecord, OAuthIssuerStore } from '../../store/types.ts';
import { compileScopes } from '../access/scopes.ts';
import type { AuthResult, Principal } from '../principal.ts';

/** Why a token was refused: for the audit record only; the client always gets the same 401. */
export type TokenFailure =
  | 'token_malformed'
  | 'unknown_issuer'
  | 'token_expired'
  | 'token_not_yet_valid'
  | 'token_audience'
  | 'token_claims'
  | 'token_alg'
  | 'token_typ'
  | 'token_signature'
  | 'token_unknown_key'
  | 'jwks_unavailable';

export interface TokenVerifierDeps {
  readonly issuers: Pick<OAuthIssuerStore, 'findOAuthIssuer'>;
  /** The canonical URL of an endpoint (`/mcp` for null, `/servers/{name}/mcp`): a token for it is a token for us. */
  readonly resourceFor: (server: string | null) => string;
  /** Told when an issuer's keys cannot be fetched (never given the token). */
  readonly onJwksError?: (issuer: string, err: unknown) => void;
  /** The egress fetch (src/egress): key sets are fetched through the same checks as every other outbound call. */
  readonly fetch: typeof fetch;
}

/** Small, for clocks that drift; not a grace period. */
const CLOCK_TOLERANCE_S = 30;
const MAX_TOKEN_LENGTH = 8192;

type Jose = typeof JoseModule;
let jose: Promise<Jose> | undefined;
/** jose is loaded with the first access token: a gateway whose agents use API keys only never holds it. */
function loadJose(): Promise<Jose> {
  jose ??= import('jose').catch((err: unknown) => {
    jose = undefined;
    throw err;
  });
  return jose;
}
const MAX_CLAIM_LENGTH = 256;

/**
 * OAuth 2.1 resource-server verification of an access token (JWT) from an organisation's IdP. The unverified `iss`
 * only picks the issuer configuration (and so the organisation); everything else is decided by jose against that
 * issuer's JWKS: signature, algorithm (pinned per issuer), exact issuer, audience (RFC 8707: our resource), exp and
 * nbf with a small tolerance. `typ` must be `at+jwt` (RFC 9068) or, unless the issuer is configured strictly, `JWT` or
 * absent, as several IdPs issue them. Key sets are cached per URI by jose (refetched on an unknown `kid`, with a cooldown).
 */
export function createTokenVerifier(deps: TokenVerifierDeps) {
  const keySets = new Map<string, JWTVerifyGetKey>();

  function keySet(jose: Jose, jwksUri: string): JWTVerifyGetKey {
    let set = keySets.get(jwksUri);
    if (set === undefined) {
      set = jose.createRemoteJWKSet(new URL(jwksUri), {
        timeoutDuration: 5000,
        cooldownDuration: 30_000,
        cacheMaxAge: 600_000,
        [jose.customFetch]: deps.fetch,
      });
      keySets.set(jwksUri, set);
    }
    return set;
  }

  return async function verifyToken(token: string, server: string | null, now: number): Promise<AuthResult> {
    if (token.length > MAX_TOKEN_LENGTH) return { ok: false, reason: 'token_malformed' };
    const jose = await loadJose();
    let iss: string | undefined;
    try {
      iss = jose.decodeJwt(token).iss;
    } catch {
      return { ok: false, reason: 'token_malformed' };
    }
    if (typeof iss !== 'string') return { ok: false, reason: 'token_malformed' };
    const issuer = await deps.issuers.findOAuthIssuer(iss);
    if (issuer === undefined) return { ok: false, reason: 'unknown_issuer' };
    const refused = (reason: TokenFailure | 'insufficient_scope', scope?: string): AuthResult => ({
      ok: false,
      reason,
      orgId: issuer.orgId,
      keyId: `oauth:${issuer.id}`,
      ...(scope === undefined ? {} : { scope }),
    });
    let payload: JWTPayload;
    let typ: string | undefined;
    try {
      const result = await jose.jwtVerify(token, keySet(jose, issuer.jwksUri), {
        issuer: issuer.issuer,
        audience: [...new Set([issuer.audience, deps.resourceFor(server)])],
        algorithms: [...issuer.algorithms],
        clockTolerance: CLOCK_TOLERANCE_S,
        currentDate: new Date(now),
        requiredClaims: ['exp', 'sub'],
      });
      payload = result.payload;
      typ = result.protectedHeader.typ;
    } catch (err) {
      const reason = failureOf(jose.errors, err);
      if (reason === 'jwks_unavailable') deps.onJwksError?.(issuer.issuer, err);
      return refused(reason);
    }
    if (!typAccepted(typ, issuer.requireAtJwt)) return refused('token_typ');
    const sub = payload.sub;
    const clientId = stringClaim(payload.client_id) ?? stringClaim(payload.azp);
    if (sub === undefined || sub.length === 0 || sub.length > MAX_CLAIM_LENGTH || (clientId?.length ?? 0) > MAX_CLAIM_LENGTH) return refused('token_claims');

    const held = tokenScopes(payload);
    if (!issuer.requiredScopes.every((s) => held.has(s))) return refused('insufficient_scope', issuer.requiredScopes.join(' '));
    const granted = [...held].flatMap((s) => (Object.hasOwn(issuer.scopeMap, s) ? (issuer.scopeMap[s] ?? []) : []));
    if (granted.length === 0) return refused('insufficient_scope', Object.keys(issuer.scopeMap).sort().join(' '));
    const exp = typeof payload.exp === 'number' ? new Date(payload.exp * 1000).toISOString() : null;
    return { ok: true, principal: principalOf(issuer, sub, clientId, granted, exp) };
  };
}

export type VerifyToken = ReturnType<typeof createTokenVerifier>;

/**
 * The same Principal an API key yields, so access, catalog and audit treat both alike. Its `keyId` (which owns
 * sessions) is the issuer, client and subject together; the audit names the subject as the user and the issuer and
 * client as the credential, never the token.
 */
function principalOf(issuer: OAuthIssuerRecord, sub: string, clientId: string | undefined, granted: string[], expiresAt: string | null): Principal {
  const client = clientId ?? '-';
  return {
    orgId: issuer.orgId,
    keyId: `oauth:${issuer.id}:${encodeURIComponent(client)}:${encodeURIComponent(sub)}`,
    keyName: clientId ?? sub,
    // An agent, never an administrator: tokens reach the MCP plane only, with the rights its scopes map to.
    role: 'member',
    // The subject is the IdP's own identifier; nothing here proves it is one of the organisation's members, so the
    // token acts for no user (membership-bound rights are for keys a member created, or a person's session).
    userId: null,
    scopes: compileScopes(granted),
    scopeList: [...new Set(granted)],
    expiresAt,
    servers: issuer.servers,
    cidrs: null,
    network: null,
    actor: { keyId: `oauth:${issuer.id}:${client}`, user: sub },
  };
}

/** `scope` (RFC 9068: space-separated) or `scp` (a list, as some IdPs write it). */
function tokenScopes(payload: JWTPayload): Set<string> {
  const scope = payload.scope;
  const scp = payload.scp;
  const list = typeof scope === 'string' ? scope.split(' ') : Array.isArray(scp) ? scp : typeof scp === 'string' ? scp.split(' ') : [];
  return new Set(list.filter((s): s is string => typeof s === 'string' && s.length > 0));
}

function typAccepted(typ: string | undefined, strict: boolean): boolean {
  const t = typ?.toLowerCase().replace(/^application\//, '');
  return t === 'at+jwt' || (!strict && (t === undefined || t === 'jwt'));
}

function stringClaim(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

function failureOf(errors: Jose['errors'], err: unknown): TokenFailure {
  if (err instanceof errors.JWTExpired) return 'token_expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'nbf') return 'token_not_yet_valid';
    if (err.claim === 'aud') return 'token_audience';
    return 'token_claims';
  }
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) return 'token_alg';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'token_signature';
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) return 'token_unknown_key';
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) return 'token_malformed';
  // A key set that cannot be fetched or read (timeout, network, not JSON): the token cannot be verified, so it fails.
  return 'jwks_unavailable';
}
