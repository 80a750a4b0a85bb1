import { isLoopbackHost } from '../config/load.ts';
import { secretWeakness } from '../config/secret-strength.ts';
import { GatehouseError } from '../errors.ts';
import { defaultSignInSettings, effectiveSignInSettings, IDLE_MINUTES, MAX_HOURS } from '../identity/sign-in-defaults.ts';
import type { OrgSignInSettings } from '../store/sign-in-types.ts';
import { authorize, changeEvent, requireSameOrg, type Actor, type ServiceContext } from './context.ts';

/** What an organisation's sign-in settings look like from outside: the client secret is write-only. */
export interface SignInSettingsView {
  readonly sessionIdleMinutes: number;
  readonly sessionMaxHours: number;
  readonly requireMfa: boolean;
  readonly passwordLogin: boolean;
  readonly oidc: { readonly issuer: string; readonly clientId: string; readonly clientSecretSet: true; readonly allowJit: boolean } | null;
  readonly updatedAt: string | null;
}

export interface SignInSettingsChange {
  readonly sessionIdleMinutes?: number | undefined;
  readonly sessionMaxHours?: number | undefined;
  readonly requireMfa?: boolean | undefined;
  readonly passwordLogin?: boolean | undefined;
  /** null removes single sign-on; the secret may be left out to keep the stored one for the same issuer and client. */
  readonly oidc?: { issuer: string; clientId: string; clientSecret?: string | undefined; allowJit?: boolean | undefined } | null | undefined;
}

const NO_SUCH_ORGANISATION = 'No such organisation';
/** The shortest OIDC client secret production accepts; services/posture.ts checks stored ones against the same. */
export const MIN_OIDC_SECRET_LENGTH = 16;

/** Where the client secret is sealed: bound to the organisation and field, so it opens nowhere else. */
export function oidcSecretBinding(orgId: string): string {
  return `org:${orgId}/sign-in/oidc-client-secret`;
}

function view(s: OrgSignInSettings, stored: boolean): SignInSettingsView {
  return {
    sessionIdleMinutes: s.sessionIdleMinutes,
    sessionMaxHours: s.sessionMaxHours,
    requireMfa: s.requireMfa,
    passwordLogin: s.passwordLogin,
    oidc: s.oidc === null ? null : { issuer: s.oidc.issuer, clientId: s.oidc.clientId, clientSecretSet: true, allowJit: s.oidc.allowJit },
    updatedAt: stored ? s.updatedAt : null,
  };
}

async function liveOrg(ctx: Pick<ServiceContext, 'store'>, actor: Actor, orgId: string): Promise<void> {
  requireSameOrg(actor, orgId, NO_SUCH_ORGANISATION);
  const org = await ctx.store.getOrganisation(orgId);
  if (org === undefined || org.deletedAt !== null) throw new GatehouseError('not_found', NO_SUCH_ORGANISATION);
}

export async function getSignInSettings(ctx: Pick<ServiceContext, 'store'>, actor: Actor, orgId: string): Promise<SignInSettingsView> {
  authorize(actor, 'sign_in.read');
  await liveOrg(ctx, actor, orgId);
  const stored = await ctx.store.signIn.getSettings(orgId);
  return view(stored ?? defaultSignInSettings(orgId), stored !== undefined);
}

/**
 * An issuer must be https, as OpenID Connect Discovery requires; plain http is accepted for a loopback issuer only
 * (an IdP on the same machine in development and in the tests).
 */
export function checkIssuer(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new GatehouseError('bad_request', 'The OIDC issuer must be a URL');
  }
  const loopback = isLoopbackHost(url.hostname.replace(/^\[|\]$/g, ''));
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new GatehouseError('bad_request', 'The OIDC issuer must be an https URL (http only on loopback)');
  }
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    throw new GatehouseError('bad_request', 'The OIDC issuer must not carry credentials, a query or a fragment');
  }
  return url.href.replace(/\/$/, '');
}

export async function updateSignInSettings(ctx: ServiceContext, actor: Actor, orgId: string, change: SignInSettingsChange): Promise<SignInSettingsView> {
  authorize(actor, 'sign_in.update');
  await liveOrg(ctx, actor, orgId);
  const current = await effectiveSignInSettings(ctx.store, orgId);
  const idle = change.sessionIdleMinutes ?? current.sessionIdleMinutes;
  const maxHours = change.sessionMaxHours ?? current.sessionMaxHours;
  if (!Number.isInteger(idle) || idle < IDLE_MINUTES.min || idle > IDLE_MINUTES.max) {
    throw new GatehouseError('bad_request', `The session idle timeout must be ${String(IDLE_MINUTES.min)} to ${String(IDLE_MINUTES.max)} minutes`);
  }
  if (!Number.isInteger(maxHours) || maxHours < MAX_HOURS.min || maxHours > MAX_HOURS.max) {
    throw new GatehouseError('bad_request', `The session maximum must be ${String(MAX_HOURS.min)} to ${String(MAX_HOURS.max)} hours`);
  }
  let oidc = current.oidc;
  if (change.oidc === null) oidc = null;
  else if (change.oidc !== undefined) {
    const issuer = checkIssuer(change.oidc.issuer);
    const clientId = change.oidc.clientId.trim();
    if (clientId === '') throw new GatehouseError('bad_request', 'The OIDC client id must not be empty');
    let sealed: string;
    if (change.oidc.clientSecret !== undefined) {
      if (change.oidc.clientSecret === '') throw new GatehouseError('bad_request', 'The OIDC client secret must not be empty');
      // Production would refuse to start on it (services/posture.ts): refuse it here, where it can be fixed.
      const weakness = ctx.production === true ? secretWeakness(change.oidc.clientSecret, MIN_OIDC_SECRET_LENGTH) : undefined;
      if (weakness !== undefined) throw new GatehouseError('bad_request', `The OIDC client secret ${weakness}`);
      sealed = ctx.box.seal(change.oidc.clientSecret, oidcSecretBinding(orgId));
    } else if (current.oidc !== null && current.oidc.issuer === issuer && current.oidc.clientId === clientId) {
      sealed = current.oidc.clientSecretSealed;
    } else {
      throw new GatehouseError('bad_request', 'A new OIDC issuer or client needs its client secret');
    }
    oidc = { issuer, clientId, clientSecretSealed: sealed, allowJit: change.oidc.allowJit ?? current.oidc?.allowJit ?? false };
  }
  const next: OrgSignInSettings = {
    orgId,
    sessionIdleMinutes: idle,
    sessionMaxHours: maxHours,
    requireMfa: change.requireMfa ?? current.requireMfa,
    passwordLogin: change.passwordLogin ?? current.passwordLogin,
    oidc,
    updatedAt: new Date().toISOString(),
  };
  await ctx.store.signIn.putSettings(next);
  const audited = { ...view(next, true), updatedAt: undefined, clientSecretChanged: change.oidc?.clientSecret !== undefined };
  await ctx.audit.record(changeEvent(orgId, actor, 'sign_in.update', { name: orgId }, audited));
  return view(next, true);
}
