import { parseArgs } from 'node:util';
import { addMember, listMembers, memberIdByEmail, removeMember, setMemberRole } from '../services/members.ts';
import type { KeyRole } from '../store/types.ts';
import type { CliContext } from './context.ts';
import { out, table, UsageError } from './output.ts';

export const MEMBERS_USAGE = `gatehouse members add EMAIL --role owner|admin|member|viewer [--org SLUG]
gatehouse members list [--org SLUG] [--json]
gatehouse members set-role EMAIL ROLE [--org SLUG]
gatehouse members remove EMAIL [--org SLUG]   (their keys in the organisation are revoked at once)`;

const ROLES: readonly string[] = ['owner', 'admin', 'member', 'viewer'];

function role(value: string | undefined): KeyRole {
  if (value === undefined || !ROLES.includes(value)) throw new UsageError('the role must be owner, admin, member or viewer');
  return value as KeyRole;
}

export async function membersCommand(ctx: CliContext, sub: string, rest: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { role: { type: 'string' }, org: { type: 'string' }, json: { type: 'boolean' } },
  });
  const org = await ctx.org(values.org);
  const email = positionals[0];
  switch (sub) {
    case 'add': {
      if (email === undefined) throw new UsageError('members add needs an EMAIL');
      const m = await addMember(ctx, ctx.actor, org.id, { email, role: role(values.role) });
      out(values.json === true ? JSON.stringify(m) : `Added ${m.email} (${m.userId}) as ${m.role}`);
      return;
    }
    case 'list': {
      const members = await listMembers(ctx, ctx.actor, org.id);
      if (values.json === true) out(JSON.stringify(members));
      else table(members.map((m) => ({ user: m.userId, email: m.email, role: m.role })), ['user', 'email', 'role']);
      return;
    }
    case 'set-role': {
      if (email === undefined) throw new UsageError('members set-role needs an EMAIL and a ROLE');
      const m = await setMemberRole(ctx, ctx.actor, org.id, await memberIdByEmail(ctx, org.id, email), role(positionals[1]));
      out(`${m.email} is now ${m.role}`);
      return;
    }
    case 'remove': {
      if (email === undefined) throw new UsageError('members remove needs an EMAIL');
      await removeMember(ctx, ctx.actor, org.id, await memberIdByEmail(ctx, org.id, email));
      out(`Removed ${email}; their keys in ${org.slug} are revoked`);
      return;
    }
    default:
      throw new UsageError(MEMBERS_USAGE);
  }
}
