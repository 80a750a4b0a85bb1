import { parseArgs } from 'node:util';
import { allowNetworks, clearAllowlist, getAllowlist, PLANES, removeNetworks } from '../services/network.ts';
import type { NetworkPlane } from '../store/types.ts';
import type { CliContext } from './context.ts';
import { err, out, table, UsageError } from './output.ts';

export const NETWORK_USAGE = `gatehouse network allow --plane mcp|api CIDR... [--org SLUG]
gatehouse network remove --plane mcp|api CIDR... [--org SLUG]
gatehouse network show [--plane mcp|api] [--org SLUG] [--json]
gatehouse network clear --plane mcp|api [--org SLUG]
  IP allowlists per organisation: mcp for the MCP endpoints, api for the dashboard and admin API. No list: any
  address. allow adds ranges (and so starts restricting), remove takes them out (an emptied list allows nothing),
  clear lifts the restriction. CIDRs are IPv4 or IPv6 (10.0.0.0/8, 2001:db8::/32, ::1); IPv4-mapped IPv6 peers match IPv4 ranges.`;

export async function networkCommand(ctx: CliContext, sub: string, rest: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { plane: { type: 'string' }, org: { type: 'string' }, json: { type: 'boolean' } },
  });
  if (values.plane !== undefined && !(PLANES as readonly string[]).includes(values.plane)) throw new UsageError('--plane must be mcp or api');
  const plane = values.plane as NetworkPlane | undefined;
  const needPlane = (): NetworkPlane => {
    if (plane === undefined) throw new UsageError(`network ${sub} needs --plane mcp|api`);
    return plane;
  };
  const org = await ctx.org(values.org);
  switch (sub) {
    case 'allow': {
      if (positionals.length === 0) throw new UsageError('network allow needs at least one CIDR');
      const list = await allowNetworks(ctx, ctx.actor, org.id, needPlane(), positionals);
      out(`The ${list.plane} plane of ${org.slug} is reachable from: ${list.cidrs.join(' ')}`);
      return;
    }
    case 'remove': {
      if (positionals.length === 0) throw new UsageError('network remove needs at least one CIDR');
      const list = await removeNetworks(ctx, ctx.actor, org.id, needPlane(), positionals);
      if (list === undefined) out(`The ${needPlane()} plane of ${org.slug} has no allowlist; nothing to remove`);
      else if (list.cidrs.length === 0) err(`WARNING: the ${list.plane} allowlist of ${org.slug} is now empty: no address may reach it (lift it with: gatehouse network clear --plane ${list.plane})`);
      else out(`The ${list.plane} plane of ${org.slug} is reachable from: ${list.cidrs.join(' ')}`);
      return;
    }
    case 'show': {
      if (positionals.length > 0) throw new UsageError(NETWORK_USAGE);
      const lists = await Promise.all((plane === undefined ? PLANES : [plane]).map(async (p) => ({ plane: p, list: await getAllowlist(ctx, ctx.actor, org.id, p) })));
      if (values.json === true) {
        out(JSON.stringify(lists.map(({ plane: p, list }) => ({ plane: p, restricted: list !== undefined, cidrs: list?.cidrs ?? null }))));
        return;
      }
      table(
        lists.map(({ plane: p, list }) => ({ plane: p, allowed: list === undefined ? 'any address' : list.cidrs.length === 0 ? '(nothing)' : list.cidrs.join(' ') })),
        ['plane', 'allowed'],
      );
      return;
    }
    case 'clear': {
      if (positionals.length > 0) throw new UsageError(NETWORK_USAGE);
      const cleared = await clearAllowlist(ctx, ctx.actor, org.id, needPlane());
      out(cleared ? `Cleared the ${needPlane()} allowlist of ${org.slug}: any address may reach it` : `The ${needPlane()} plane of ${org.slug} had no allowlist`);
      return;
    }
    default:
      throw new UsageError(NETWORK_USAGE);
  }
}
