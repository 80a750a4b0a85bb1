import type { PostureCheck } from '../config/posture.ts';
import { secretWeakness } from '../config/secret-strength.ts';
import type { ServiceContext } from './context.ts';
import { MIN_OIDC_SECRET_LENGTH as MIN_OIDC_SECRET, oidcSecretBinding } from './sign-in-settings.ts';


/**
 * What only the store knows about the posture: each organisation's OIDC client secret (sealed in the store, so
 * read with the master key). One check per organisation with single sign-on; a secret that cannot be opened fails
 * too. Never returns a secret, only what is wrong with it.
 */
export async function storePostureChecks(ctx: Pick<ServiceContext, 'store' | 'box'>, production: boolean): Promise<PostureCheck[]> {
  const checks: PostureCheck[] = [];
  for (const org of await ctx.store.listOrganisations()) {
    if (org.deletedAt !== null) continue;
    const settings = await ctx.store.signIn.getSettings(org.id);
    if (settings?.oidc == null) continue;
    const setting = `gatehouse orgs sign-in ${org.slug} --oidc-client-secret-env VAR`;
    let weakness: string | undefined;
    try {
      weakness = secretWeakness(ctx.box.open(settings.oidc.clientSecretSealed, oidcSecretBinding(org.id)), MIN_OIDC_SECRET);
    } catch {
      weakness = 'cannot be opened with this master key';
    }
    checks.push(
      weakness === undefined
        ? { id: 'oidc-secret', status: 'pass', setting, message: `organisation ${org.slug}: the OIDC client secret looks generated` }
        : {
            id: 'oidc-secret',
            status: production ? 'fail' : 'warn',
            setting,
            message: `organisation ${org.slug}: the OIDC client secret ${weakness}`,
            fix: `set the secret the identity provider generated (${MIN_OIDC_SECRET} characters or more) with: ${setting}`,
          },
    );
  }
  return checks;
}
