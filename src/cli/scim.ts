import { parseArgs } from 'node:util';
import { storeScimContext } from '../services/scim-roles.ts';
import { getScimSettings, revokeScimToken, rotateScimToken, setScimRoleMappings } from '../services/scim-settings.ts';
import type { KeyRole } from '../store/types.ts';
import type { CliContext } from './context.ts';
import { out, table, UsageError } from './output.ts';

export const SCIM_USAGE = `gatehouse scim show [--org SLUG] [--json]             (the token's metadata and the group -> role mappings)
gatehouse scim token [--org SLUG]                     (issue the SCIM token, shown once; a previous one stops working at once)
gatehouse scim revoke [--org SLUG]
gatehouse scim map IDP_GROUP ROLE [--org SLUG]        (IDP_GROUP is the group's displayName or externalId; highest role wins)
gatehouse scim unmap IDP_GROUP [--org SLUG]`;

const ROLES: readonly string[] = ['owner', 'admin', 'member', 'viewer'];

export async function scimCommand(ctx: CliContext, sub: string, rest: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { org: { type: 'string' }, json: { type: 'boolean' } } });
  const org = await ctx.org(values.org);
  // Browser sessions live in the store and end from here; the running gateway refuses revoked keys on the next request.
  const scimCtx = storeScimContext(ctx);
  switch (sub) {
    case 'show': {
      const settings = await getScimSettings(ctx, ctx.actor, org.id);
      if (values.json === true) {
        out(JSON.stringify(settings));
        return;
      }
      out(settings.token === null ? 'No SCIM token.' : `SCIM token ${settings.token.displayPrefix} issued ${settings.token.createdAt} by ${settings.token.createdBy}`);
      table(settings.roleMappings.map((m) => ({ group: m.idpGroup, role: m.role })), ['group', 'role']);
      return;
    }
    case 'token': {
      const { token, record } = await rotateScimToken(scimCtx, ctx.actor, org.id);
      out(`Issued SCIM token ${record.id} for ${org.slug}. Give it to your identity provider with the base URL <gateway>/scim/v2.`);
      out('');
      out(`  ${token}`);
      out('');
      out('The token is shown this once.');
      return;
    }
    case 'revoke':
      await revokeScimToken(scimCtx, ctx.actor, org.id);
      out(`Revoked the SCIM token of ${org.slug}`);
      return;
    case 'map':
    case 'unmap': {
      const group = positionals[0];
      if (group === undefined) throw new UsageError(`scim ${sub} needs an IDP_GROUP`);
      const role = positionals[1];
      if (sub === 'map' && (role === undefined || !ROLES.includes(role))) throw new UsageError('the role must be owner, admin, member or viewer');
      const current = (await getScimSettings(ctx, ctx.actor, org.id)).roleMappings.filter((m) => m.idpGroup !== group);
      const next = sub === 'map' ? [...current, { idpGroup: group, role: role as KeyRole }] : current;
      await setScimRoleMappings(scimCtx, ctx.actor, org.id, next);
      out(sub === 'map' ? `Mapped ${group} to ${role ?? ''}` : `Unmapped ${group}`);
      return;
    }
    default:
      throw new UsageError(SCIM_USAGE);
  }
}
