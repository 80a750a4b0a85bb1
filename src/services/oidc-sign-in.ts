import * as oidc from 'openid-client';
import { GatehouseError } from '../errors.ts';
import { hashSessionToken, newSessionToken } from '../identity/session-cookie.ts';
import { effectiveSignInSettings } from '../identity/sign-in-defaults.ts';
import { newId } from '../ids.ts';
import type { OidcSettings } from '../store/sign-in-types.ts';
import { DuplicateError, type MemberRecord } from '../store/types.ts';
import { oidcSecretBinding } from './sign-in-settings.ts';
import { auditSignIn, type ClientInfo, type SignInEnv } from './sign-in.ts';

/** How long a browser may take between leaving for the IdP and coming back. */
const FLOW_MINUTES = 10;
/** RFC 8176 methods that mean a second factor (or a phishing-resistant one) was used at the IdP. */
const MFA_AMR = new Set(['mfa', 'otp', 'hwk', 'sc']);
const NOT_CONFIGURED = 'Single sign-on is not set up for this organisation';
const FAILED = 'Single sign-on failed: start again';

export type OidcEnv = SignInEnv & {
  /** Discovery documents, per organisation and IdP settings: fetched once, refetched when the settings change. */
  readonly oidcConfigs: Map<string, Promise<oidc.Configuration>>;
};

export function redirectUri(baseUrl: string, orgSlug: string): string {
  return `${baseUrl}/auth/oidc/${encodeURIComponent(orgSlug)}/callback`;
}

function configFor(env: OidcEnv, orgId: string, s: OidcSettings): Promise<oidc.Configuration> {
  const cacheKey = `${orgId}\n${s.issuer}\n${s.clientId}\n${s.clientSecretSealed}`;
  let config = env.oidcConfigs.get(cacheKey);
  if (config === undefined) {
    const secret = env.services.box.open(s.clientSecretSealed, oidcSecretBinding(orgId));
    const issuer = new URL(s.issuer);
    // Plain http is allowed by the settings only for a loopback issuer (development, tests).
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- deprecated only to stand out; loopback only, see checkIssuer
    const execute = issuer.protocol === 'http:' ? [oidc.allowInsecureRequests] : [];
    // Every request to the IdP (discovery, token, userinfo, its key set) goes out through egress (src/egress).
    const egressFetch = env.services.egress.fetch;
    config = oidc
      .discovery(issuer, s.clientId, undefined, oidc.ClientSecretBasic(secret), { execute, timeout: 10, [oidc.customFetch]: egressFetch })
      .then((c) => {
        c[oidc.customFetch] = egressFetch;
        return c;
      });
    config.catch(() => env.oidcConfigs.delete(cacheKey));
    env.oidcConfigs.set(cacheKey, config);
  }
  return config;
}

async function liveOrg(env: OidcEnv, slug: string) {
  const org = await env.services.store.getOrganisationBySlug(slug);
  if (org === undefined || org.deletedAt !== null) return undefined;
  const settings = await effectiveSignInSettings(env.services.store, org.id);
  return settings.oidc === null ? undefined : { org, settings, oidcSettings: settings.oidc };
}

/**
 * Starts an Authorization Code sign-in with PKCE (S256), state and nonce. The flow is stored server-side under the hash
 * of a random id that goes to the browser in a cookie, so the callback is accepted only in the browser that started it.
 */
export async function startOidc(env: OidcEnv, slug: string, baseUrl: string, client: ClientInfo): Promise<{ location: string; flowToken: string }> {
  const found = await liveOrg(env, slug);
  if (found === undefined) {
    await auditSignIn(env, { orgId: null, userId: null, action: 'auth.oidc.start', decision: 'deny', reason: 'not_configured', target: slug.slice(0, 64) }, client);
    throw new GatehouseError('not_found', NOT_CONFIGURED);
  }
  const config = await configFor(env, found.org.id, found.oidcSettings).catch((err: unknown) => {
    throw new GatehouseError('upstream_unavailable', 'The identity provider could not be reached', { cause: err });
  });
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const flowToken = newSessionToken();
  const now = env.now();
  await env.services.store.signIn.insertOidcFlow({
    idHash: hashSessionToken(flowToken),
    orgId: found.org.id,
    state,
    nonce,
    codeVerifierSealed: env.services.box.seal(verifier, `oidc-flow:${hashSessionToken(flowToken)}`),
    createdAt: new Date(now).toISOString(),
    expiresAt: new Date(now + FLOW_MINUTES * 60_000).toISOString(),
  });
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri(baseUrl, slug),
    scope: 'openid email profile',
    response_type: 'code',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  return { location: url.href, flowToken };
}

function failureReason(err: unknown): string {
  // openid-client wraps the check that failed as `cause`; its message names the parameter or claim.
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : '';
  const message = `${err instanceof Error ? err.message : ''} ${cause}`;
  if (/"state"/.test(message)) return 'state_mismatch';
  if (/"nonce"/.test(message)) return 'nonce_mismatch';
  const code = typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : 'unknown';
  const oauthError = typeof err === 'object' && err !== null && 'error' in err && typeof err.error === 'string' ? `:${err.error}` : '';
  return `grant_failed:${code}${oauthError}`.slice(0, 120);
}

/**
 * The callback: the flow must exist, belong to this organisation and this browser; openid-client checks state, swaps
 * the code with the PKCE verifier, and validates the ID token (signature, issuer, audience, expiry, nonce). The email
 * must be verified by the IdP; it names the member. Where the organisation requires MFA the IdP must say (amr) that
 * a second factor was used.
 */
export async function finishOidc(
  env: OidcEnv,
  slug: string,
  callbackUrl: URL,
  flowToken: string | undefined,
  previousToken: string | undefined,
  client: ClientInfo,
): Promise<string> {
  const found = await liveOrg(env, slug);
  const orgId = found?.org.id ?? null;
  const refuse = async (reason: string, userId: string | null = null, err?: unknown): Promise<never> => {
    await auditSignIn(env, { orgId, userId, action: 'auth.oidc.login', decision: 'deny', reason, extra: { method: 'oidc' } }, client);
    throw new GatehouseError(reason === 'mfa_required' ? 'forbidden' : 'unauthenticated', reason === 'mfa_required' ? 'Your organisation requires multi-factor sign-in at your identity provider' : FAILED, { cause: err });
  };
  if (found === undefined) return refuse('not_configured');
  const flow = flowToken === undefined ? undefined : await env.services.store.signIn.takeOidcFlow(hashSessionToken(flowToken));
  if (flow === undefined || flowToken === undefined) return refuse('no_flow');
  if (flow.orgId !== found.org.id) return refuse('flow_of_another_organisation');
  if (Date.parse(flow.expiresAt) <= env.now()) return refuse('flow_expired');
  const verifier = env.services.box.open(flow.codeVerifierSealed, `oidc-flow:${flow.idHash}`);

  let claims: oidc.IDToken | undefined;
  let profile: Record<string, unknown> | undefined;
  try {
    const config = await configFor(env, found.org.id, found.oidcSettings);
    const tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {
      pkceCodeVerifier: verifier,
      expectedState: flow.state,
      expectedNonce: flow.nonce,
      idTokenExpected: true,
    });
    claims = tokens.claims();
    // Many IdPs put the email in the ID token; a conforming one may keep scope claims for the UserInfo endpoint.
    profile = claims === undefined || typeof claims.email === 'string' ? claims : await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
  } catch (err) {
    return refuse(failureReason(err), null, err);
  }
  if (claims === undefined || profile === undefined) return refuse('no_id_token');
  const email = typeof profile.email === 'string' ? profile.email.trim().toLowerCase() : undefined;
  if (email === undefined || profile.email_verified !== true) return refuse('email_not_verified');
  const amr = Array.isArray(claims.amr) ? claims.amr.filter((v): v is string => typeof v === 'string') : [];
  const mfa = amr.some((m) => MFA_AMR.has(m));
  const member = await memberFor(env, found.org.id, email, found.oidcSettings.allowJit, client);
  if (member === undefined) return refuse('not_a_member');
  if (found.settings.requireMfa && !mfa) return refuse('mfa_required', member.userId);
  const token = await env.sessions.start({ orgId: found.org.id, userId: member.userId, stage: 'full', mfa, method: 'oidc' }, previousToken);
  if (token === undefined) throw new GatehouseError('internal', 'The session could not be started');
  await auditSignIn(env, { orgId: found.org.id, userId: member.userId, action: 'auth.oidc.login', decision: 'allow', reason: null, extra: { method: 'oidc', amr } }, client);
  return token;
}

/** The member the verified email names; with just-in-time provisioning on, a newcomer becomes a `member`. */
async function memberFor(env: OidcEnv, orgId: string, email: string, allowJit: boolean, client: ClientInfo): Promise<MemberRecord | undefined> {
  const { store } = env.services;
  const user = await store.getUserByEmail(email);
  const existing = user === undefined ? undefined : await store.getMember(orgId, user.id);
  if (existing !== undefined || !allowJit) return existing;
  const now = new Date().toISOString();
  let userId = user?.id;
  if (userId === undefined) {
    userId = newId('usr');
    try {
      await store.insertUser({ id: userId, email, createdAt: now });
    } catch (err) {
      if (!(err instanceof DuplicateError)) throw err;
      userId = (await store.getUserByEmail(email))?.id;
      if (userId === undefined) throw err;
    }
  }
  try {
    await store.insertMembership({ orgId, userId, role: 'member', createdAt: now, updatedAt: now });
  } catch (err) {
    if (!(err instanceof DuplicateError)) throw err;
  }
  await auditSignIn(env, { orgId, userId, action: 'member.add', decision: 'allow', reason: 'just_in_time', extra: { role: 'member' } }, client);
  return store.getMember(orgId, userId);
}
