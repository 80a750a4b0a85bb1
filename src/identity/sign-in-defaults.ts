import type { OrgSignInSettings } from '../store/sign-in-types.ts';
import type { Store } from '../store/types.ts';

export const IDLE_MINUTES = { min: 15, max: 480, default: 60 } as const;
export const MAX_HOURS = { min: 1, max: 168, default: 12 } as const;

export function defaultSignInSettings(orgId: string): OrgSignInSettings {
  return {
    orgId,
    sessionIdleMinutes: IDLE_MINUTES.default,
    sessionMaxHours: MAX_HOURS.default,
    requireMfa: false,
    passwordLogin: true,
    oidc: null,
    updatedAt: new Date(0).toISOString(),
  };
}

/** The settings in force: stored ones, or the defaults for an organisation that never changed them. */
export async function effectiveSignInSettings(store: Pick<Store, 'signIn'>, orgId: string): Promise<OrgSignInSettings> {
  return (await store.signIn.getSettings(orgId)) ?? defaultSignInSettings(orgId);
}
