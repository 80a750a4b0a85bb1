import { randomBytes } from 'node:crypto';
import * as z from 'zod';
import { isLoopbackHost } from '../config/load.ts';
import { GatehouseError } from '../errors.ts';
import { scopeCovers, scopeProblem } from '../gateway/access/scopes.ts';
import { DuplicateError, type OAuthIssuerRecord } from '../store/types.ts';
import { authorize, changeEvent, requireSameOrg, type Actor, type ServiceContext } from './context.ts';
import { requireServers } from './keys.ts';

/** Asymmetric JWS algorithms only: `none` never, HS* never (their key would be the IdP's public JWKS, i.e. anyone's). */
export const ALLOWED_ALGORITHMS: readonly string[] = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];
export const DEFAULT_ALGORITHMS: readonly string[] = ['RS256', 'ES256', 'EdDSA'];
/** RFC 6749 scope-token characters. */
const TOKEN_SCOPE = /^[\x21\x23-\x5B\x5D-\x7E]{1,128}$/;

export interface NewIssuer {
  readonly orgId: string;
  readonly issuer: string;
  /** The resource the token's `aud` must contain; the caller passes the gateway's canonical MCP URL by default. */
  readonly audience: string;
  readonly algorithms?: readonly string[] | undefined;
  /** Given, or found by discovery from the issuer's metadata. */
  readonly jwksUri?: string | undefined;
  readonly scopeMap: Readonly<Record<string, readonly string[]>>;
  readonly requiredScopes?: readonly string[] | undefined;
  readonly servers?: readonly string[] | undefined;
  readonly requireAtJwt?: boolean | undefined;
}

const newSchema = z.strictObject({
  orgId: z.string().min(1),
  issuer: z.string().max(512),
  audience: z.string().min(1).max(512),
  algorithms: z.array(z.string()).max(16).optional(),
  jwksUri: z.string().max(1024).optional(),
  scopeMap: z.record(z.string(), z.array(z.string().max(300)).max(256)),
  requiredScopes: z.array(z.string()).max(32).optional(),
  servers: z.array(z.string()).max(256).optional(),
  requireAtJwt: z.boolean().optional(),
});

export interface DiscoveryOptions {
  readonly fetch?: typeof fetch;
}

/**
 * Trusts an OAuth authorization server's access tokens for an organisation. The issuer and its key set must be https
 * (plain http only on loopback, for development and tests); without a JWKS URI it is discovered from the issuer's
 * OpenID Connect or RFC 8414 metadata, whose `issuer` must be the configured one exactly.
 */
export async function addIssuer(ctx: ServiceContext, actor: Actor, input: NewIssuer, options: DiscoveryOptions = {}): Promise<OAuthIssuerRecord> {
  authorize(actor, 'oauth_issuer.create');
  requireSameOrg(actor, input.orgId, NO_SUCH_ISSUER);
  const parsed = newSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new GatehouseError('bad_request', `Invalid issuer ${issue?.path.map(String).join('.') ?? ''}: ${issue?.message ?? 'input'}`);
  }
  const i = parsed.data;
  requireSafeUrl(i.issuer, 'issuer');
  if (/[?#]/.test(i.issuer)) throw new GatehouseError('bad_request', 'The issuer must not have a query or fragment');
  const algorithms = [...new Set(i.algorithms ?? DEFAULT_ALGORITHMS)];
  for (const alg of algorithms) {
    if (!ALLOWED_ALGORITHMS.includes(alg)) throw new GatehouseError('bad_request', `Algorithm '${alg.slice(0, 16)}' is not accepted (use ${ALLOWED_ALGORITHMS.join(', ')})`);
  }
  if (algorithms.length === 0) throw new GatehouseError('bad_request', 'Give at least one algorithm');
  const scopeMap: Record<string, string[]> = {};
  for (const [tokenScope, scopes] of Object.entries(i.scopeMap)) {
    if (!TOKEN_SCOPE.test(tokenScope)) throw new GatehouseError('bad_request', `'${tokenScope.slice(0, 64)}' is not a token scope value`);
    for (const s of scopes) {
      const problem = scopeProblem(s);
      if (problem !== undefined) throw new GatehouseError('bad_request', `Invalid scope ${problem}`);
    }
    scopeMap[tokenScope] = [...new Set(scopes)];
  }
  if (Object.keys(scopeMap).length === 0) throw new GatehouseError('bad_request', 'Map at least one token scope to Gatehouse scopes (e.g. mcp=*)');
  const requiredScopes = [...new Set(i.requiredScopes ?? [])];
  for (const s of requiredScopes) if (!TOKEN_SCOPE.test(s)) throw new GatehouseError('bad_request', `'${s.slice(0, 64)}' is not a token scope value`);
  const servers = i.servers === undefined ? actor.servers && [...actor.servers] : await requireServers(ctx, i.orgId, i.servers);
  assertGrantable(actor, scopeMap, servers);
  if (i.jwksUri === undefined) await ctx.egress.check(i.issuer);
  const jwksUri = i.jwksUri ?? (await discoverJwksUri(i.issuer, options.fetch ?? ctx.egress.fetch));
  requireSafeUrl(jwksUri, 'JWKS URI');
  // The key set must pass egress now (resolved, every address checked), not only when first fetched.
  await ctx.egress.check(jwksUri);
  const record: OAuthIssuerRecord = {
    id: `iss_${randomBytes(12).toString('base64url')}`,
    orgId: i.orgId,
    issuer: i.issuer,
    audience: i.audience,
    algorithms,
    jwksUri,
    scopeMap,
    requiredScopes,
    servers,
    requireAtJwt: i.requireAtJwt ?? false,
    createdBy: actor.userId ?? actor.keyId ?? actor.name,
    createdAt: new Date().toISOString(),
  };
  try {
    await ctx.store.oauthIssuers.insertOAuthIssuer(record);
  } catch (err) {
    // Which organisation has it is not said: that would tell one organisation about another.
    if (err instanceof DuplicateError) throw new GatehouseError('conflict', 'This issuer is already trusted by an organisation on this gateway (an issuer belongs to one organisation)');
    throw err;
  }
  const { createdBy: _c, createdAt: _t, orgId: _o, ...audited } = record;
  await ctx.audit.record(changeEvent(record.orgId, actor, 'oauth_issuer.create', { name: record.issuer }, audited));
  return record;
}

/**
 * Trusting an issuer hands out rights as creating a key does, to whoever the IdP issues tokens for: its mapped scopes
 * must be within the actor's scopes, and its servers within the actor's (tokens are always role member).
 */
function assertGrantable(actor: Actor, scopeMap: Readonly<Record<string, readonly string[]>>, servers: readonly string[] | null): void {
  for (const s of Object.values(scopeMap).flat()) {
    if (!scopeCovers(actor.scopes, s)) throw new GatehouseError('forbidden', `An issuer cannot grant more than you hold: scope '${s}' is wider than your scopes`);
  }
  const ceiling = actor.servers;
  if (ceiling !== null && (servers === null || servers.some((s) => !ceiling.includes(s)))) {
    throw new GatehouseError('forbidden', 'An issuer cannot reach more than you: its servers must be within the virtual servers your key may use');
  }
}

const NO_SUCH_ISSUER = 'No such issuer';

export async function listIssuers(ctx: Pick<ServiceContext, 'store'>, actor: Actor, orgId: string): Promise<OAuthIssuerRecord[]> {
  authorize(actor, 'oauth_issuer.read');
  requireSameOrg(actor, orgId, NO_SUCH_ISSUER);
  return ctx.store.oauthIssuers.listOAuthIssuers(orgId);
}

/** Removes an issuer of the organisation, named by id or issuer URL; tokens it issued stop working at once. */
export async function removeIssuer(ctx: ServiceContext, actor: Actor, orgId: string, idOrIssuer: string): Promise<OAuthIssuerRecord> {
  authorize(actor, 'oauth_issuer.delete');
  requireSameOrg(actor, orgId, NO_SUCH_ISSUER);
  const found = (await ctx.store.oauthIssuers.listOAuthIssuers(orgId)).find((i) => i.id === idOrIssuer || i.issuer === idOrIssuer);
  if (found === undefined || !(await ctx.store.oauthIssuers.deleteOAuthIssuer(orgId, found.id))) {
    throw new GatehouseError('not_found', `No issuer '${idOrIssuer.slice(0, 128)}' in this organisation`);
  }
  await ctx.audit.record(changeEvent(orgId, actor, 'oauth_issuer.delete', { name: found.issuer }, { id: found.id }));
  return found;
}

function requireSafeUrl(text: string, what: string): void {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new GatehouseError('bad_request', `The ${what} must be an absolute URL`);
  }
  const loopback = isLoopbackHost(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new GatehouseError('bad_request', `The ${what} must be https (http only on loopback)`);
  }
  if (url.username !== '' || url.password !== '') throw new GatehouseError('bad_request', `The ${what} must not carry credentials`);
}

/** OpenID Connect Discovery first (issuer + path), then RFC 8414 (well-known inserted before the issuer's path). */
async function discoverJwksUri(issuer: string, doFetch: typeof fetch): Promise<string> {
  const u = new URL(issuer);
  const path = u.pathname.replace(/\/$/, '');
  const candidates = [`${u.origin}${path}/.well-known/openid-configuration`, `${u.origin}/.well-known/oauth-authorization-server${path}`];
  for (const url of candidates) {
    let doc: unknown;
    try {
      const res = await doFetch(url, { redirect: 'error', signal: AbortSignal.timeout(5000), headers: { accept: 'application/json' } });
      if (!res.ok) continue;
      doc = await res.json();
    } catch {
      continue;
    }
    const meta = typeof doc === 'object' && doc !== null ? (doc as Record<string, unknown>) : {};
    // Mix-up protection: metadata that names another issuer is not this issuer's.
    if (meta.issuer !== issuer) throw new GatehouseError('bad_request', `The metadata at ${url} names another issuer`);
    if (typeof meta.jwks_uri !== 'string') throw new GatehouseError('bad_request', `The metadata at ${url} has no jwks_uri`);
    return meta.jwks_uri;
  }
  throw new GatehouseError('bad_request', 'Cannot discover the issuer metadata (tried OpenID Connect and RFC 8414); give --jwks-uri');
}
